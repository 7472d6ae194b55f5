#include "api/sns/sns_api.h"

#include <algorithm>
#include <boost/json.hpp>

#include "api/sigv4/crypto.h"
#include "base/strings.h"

namespace stageline::sns {

namespace json = boost::json;

namespace {

constexpr const char* kService = "sns";
constexpr int kPageSize = 100;  // ListTopics and ListSubscriptions* pages
constexpr size_t kMaxMessageBytes = 256 * 1024;

const std::vector<std::string>& supported_protocols() {
  static const std::vector<std::string> p = {"http", "https", std::string(kFileProtocol),
                                             std::string(kProgramProtocol)};
  return p;
}

// Topic attributes CreateTopic and SetTopicAttributes accept (kept and
// returned; only DisplayName has a meaning here, docs/sns.md).
bool known_topic_attribute(const std::string& name) {
  static const std::vector<std::string> names = {"DisplayName",    "Policy",
                                                 "DeliveryPolicy", "KmsMasterKeyId",
                                                 "TracingConfig",  "SignatureVersion"};
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string required(const Form& form, const std::string& name, Status& status) {
  auto it = form.find(name);
  if (it == form.end() || it->second.empty()) {
    if (status.ok()) status = Status::invalid("Invalid parameter: " + name + " is required");
    return "";
  }
  return it->second;
}

std::string optional(const Form& form, const std::string& name) {
  auto it = form.find(name);
  return it == form.end() ? "" : it->second;
}

bool valid_topic_name(std::string_view name) {
  if (name.empty() || name.size() > 256) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

json::object map_to_json(const std::map<std::string, std::string>& m) {
  json::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

std::map<std::string, std::string> json_to_map(const json::value* v) {
  std::map<std::string, std::string> out;
  if (v == nullptr || !v->is_object()) return out;
  for (const auto& [k, val] : v->as_object())
    if (val.is_string()) out[std::string(k)] = std::string(val.as_string());
  return out;
}

std::string str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : "";
}

// 32 random bytes in hex: a confirmation token (AWS's are longer, opaque
// hex strings too).
Result<std::string> new_token() {
  auto bytes = api::sigv4::random_bytes(32);
  if (!bytes.ok()) return bytes.status();
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : *bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

// The query protocol's error codes for refused signatures (the JSON
// protocols' names end in "Exception" and call an unknown key
// UnrecognizedClientException).
std::string_view auth_code(api::sigv4::AuthError e) {
  using api::sigv4::AuthError;
  switch (e) {
    case AuthError::kMissingAuthenticationToken:
      return "MissingAuthenticationToken";
    case AuthError::kIncompleteSignature:
      return "IncompleteSignature";
    case AuthError::kUnrecognizedClient:
      return "InvalidClientTokenId";
    case AuthError::kSignatureDoesNotMatch:
    case AuthError::kInvalidCredentialScope:
    case AuthError::kContentHashMismatch:
    case AuthError::kSignatureNotYetCurrent:
      return "SignatureDoesNotMatch";
    case AuthError::kSignatureExpired:
    case AuthError::kRequestExpired:
      return "RequestExpired";
  }
  return "SignatureDoesNotMatch";
}

}  // namespace

SnsApi::SnsApi(store::Store& store, const api::sigv4::Verifier& verifier, const SigningKey& key,
               Deliverer& deliverer, SnsOptions options)
    : store_(store),
      verifier_(verifier),
      key_(key),
      deliverer_(deliverer),
      options_(std::move(options)) {
  STAGELINE_CHECK(options_.now_ms && options_.new_id);
}

SnsError SnsApi::to_error(const Status& status) {
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kAlreadyExists:
      return {400, "InvalidParameter", status.message()};
    case StatusCode::kNotFound:
      return {404, "NotFound", status.message()};
    case StatusCode::kFailedPrecondition:
      return {429, "Throttled", status.message()};
    case StatusCode::kOk:
    case StatusCode::kIo:
    case StatusCode::kInternal:
      return {500, "InternalError", "Internal error"};
  }
  return {500, "InternalError", "Internal error"};
}

std::string SnsApi::certificate_path() const {
  return "/sns/SimpleNotificationService-" + key_.fingerprint() + ".pem";
}

std::string SnsApi::topic_arn(std::string_view name) const {
  return "arn:aws:sns:" + options_.region + ":" + options_.account_id + ":" + std::string(name);
}

std::optional<std::string> SnsApi::topic_name(std::string_view arn) const {
  const std::string prefix = topic_arn("");
  if (!arn.starts_with(prefix)) return std::nullopt;
  std::string_view name = arn.substr(prefix.size());
  if (!valid_topic_name(name)) return std::nullopt;
  return std::string(name);
}

std::string SnsApi::base_url(const Subscription& s) const {
  std::string url = options_.endpoint_url ? options_.endpoint_url() : "";
  return url.empty() ? s.base_url : url;
}

// ---- Persistence -----------------------------------------------------------

Result<SnsApi::Topic> SnsApi::find_topic(const std::string& arn) {
  auto name = topic_name(arn);
  if (!name) return Status::invalid("Invalid parameter: TopicArn");
  auto record = store_.get_resource(kService, "topic", *name);
  if (!record.ok()) {
    if (record.status().code() == StatusCode::kNotFound)
      return Status::not_found("Topic does not exist");
    return record.status();
  }
  std::error_code ec;
  json::value doc = json::parse(record->document_json, ec);
  if (ec || !doc.is_object())
    return Status::internal("sns topic " + *name + ": the stored document does not parse");
  Topic t;
  t.name = *name;
  t.arn = arn;
  t.attributes = json_to_map(doc.as_object().if_contains("attributes"));
  if (const json::value* tags = doc.as_object().if_contains("tags"); tags && tags->is_array())
    for (const auto& tag : tags->as_array())
      if (tag.is_object())
        t.tags.emplace_back(str(tag.as_object(), "Key"), str(tag.as_object(), "Value"));
  t.created_ms = record->created_ms;
  return t;
}

Status SnsApi::save(const Topic& t, bool is_new) {
  json::array tags;
  for (const auto& [k, v] : t.tags) tags.push_back(json::object{{"Key", k}, {"Value", v}});
  store::ResourceRecord r;
  r.service = kService;
  r.kind = "topic";
  r.name = t.name;
  r.document_json = json::serialize(json::object{
      {"arn", t.arn}, {"attributes", map_to_json(t.attributes)}, {"tags", std::move(tags)}});
  r.created_ms = t.created_ms;
  r.updated_ms = options_.now_ms();
  return is_new ? store_.insert_resource(r) : store_.update_resource(r);
}

namespace {

Result<json::object> parse_doc(const store::ResourceRecord& r) {
  std::error_code ec;
  json::value doc = json::parse(r.document_json, ec);
  if (ec || !doc.is_object())
    return Status::internal("sns " + r.kind + " " + r.name +
                            ": the stored document does not parse");
  return std::move(doc.as_object());
}

}  // namespace

Result<SnsApi::Subscription> SnsApi::find_subscription(const std::string& arn) {
  auto record = store_.get_resource(kService, "subscription", arn);
  if (!record.ok()) {
    if (record.status().code() == StatusCode::kNotFound)
      return Status::not_found("Subscription does not exist");
    return record.status();
  }
  auto doc = parse_doc(*record);
  if (!doc.ok()) return doc.status();
  Subscription s;
  s.arn = arn;
  s.topic_arn = str(*doc, "topicArn");
  s.protocol = str(*doc, "protocol");
  s.endpoint = str(*doc, "endpoint");
  s.owner = str(*doc, "owner");
  const json::value* confirmed = doc->if_contains("confirmed");
  s.confirmed = confirmed != nullptr && confirmed->is_bool() && confirmed->as_bool();
  s.token = str(*doc, "token");
  s.base_url = str(*doc, "baseUrl");
  s.attributes = json_to_map(doc->if_contains("attributes"));
  s.created_ms = record->created_ms;
  return s;
}

Status SnsApi::save(const Subscription& s, bool is_new) {
  store::ResourceRecord r;
  r.service = kService;
  r.kind = "subscription";
  r.name = s.arn;
  r.document_json = json::serialize(json::object{{"topicArn", s.topic_arn},
                                                 {"protocol", s.protocol},
                                                 {"endpoint", s.endpoint},
                                                 {"owner", s.owner},
                                                 {"confirmed", s.confirmed},
                                                 {"token", s.token},
                                                 {"baseUrl", s.base_url},
                                                 {"attributes", map_to_json(s.attributes)}});
  r.created_ms = s.created_ms;
  r.updated_ms = options_.now_ms();
  return is_new ? store_.insert_resource(r) : store_.update_resource(r);
}

Result<store::Page<SnsApi::Subscription>> SnsApi::subscriptions(const std::string* topic,
                                                                const std::string& after_arn,
                                                                int limit) {
  // A topic's subscription ARNs are "<topic ARN>:<uuid>": they share that
  // prefix, so they are contiguous in the store's name order.
  const std::string prefix = topic != nullptr ? *topic + ":" : "";
  std::string after = after_arn.empty() ? prefix : after_arn;
  store::Page<Subscription> out;
  for (;;) {
    auto page = store_.list_resources(kService, "subscription", kPageSize, after);
    if (!page.ok()) return page.status();
    for (const auto& r : page->items) {
      if (!r.name.starts_with(prefix)) return out;
      if (static_cast<int>(out.items.size()) == limit) {
        out.next_key = out.items.back().arn;
        return out;
      }
      auto s = find_subscription(r.name);
      if (!s.ok()) return s.status();
      out.items.push_back(std::move(*s));
    }
    if (page->next_key.empty()) return out;
    after = page->next_key;
  }
}

// ---- Requests ----------------------------------------------------------------

http::Response SnsApi::handle(const http::Request& request) {
  auto answer = [](int status, std::string body) {
    http::Response r;
    r.status = status;
    r.headers.emplace_back("Content-Type", "text/xml");
    r.body = std::move(body);
    return r;
  };
  api::sigv4::HttpRequestView view{request.method, request.target, request.headers, request.body};
  auto auth = verifier_.verify(view, kService);
  if (!auth.ok()) {
    const auto& f = auth.failure();
    if (options_.log)
      options_.log("request " + request.request_id + ": authentication failed: " + f.detail);
    return answer(f.http_status(),
                  error_xml(f.http_status(), auth_code(f.error), f.message, request.request_id));
  }
  Form form;
  Status parsed = parse_form(request.query(), form);
  if (parsed.ok() && request.method == "POST") parsed = parse_form(request.body, form);
  if (!parsed.ok())
    return answer(400, error_xml(400, "InvalidParameter", parsed.message(), request.request_id));
  const std::string action = optional(form, "Action");
  auto result = call(action, form, request.header("Host"));
  if (!result.ok()) {
    SnsError e = to_error(result.status());
    if (e.http_status >= 500 && options_.log)
      options_.log("request " + request.request_id + ": sns " + action + ": " +
                   result.status().message());
    return answer(e.http_status, error_xml(e.http_status, e.code, e.message, request.request_id));
  }
  const std::string* xml = result->has_value() ? &**result : nullptr;
  return answer(200, response_xml(action, xml, request.request_id));
}

Result<SnsApi::Output> SnsApi::call(const std::string& action, const Form& form,
                                    std::string_view host) {
  if (action == "CreateTopic") return create_topic(form);
  if (action == "DeleteTopic") return delete_topic(form);
  if (action == "ListTopics") return list_topics(form);
  if (action == "GetTopicAttributes") return get_topic_attributes(form);
  if (action == "SetTopicAttributes") return set_topic_attributes(form);
  if (action == "Subscribe") return subscribe(form, host);
  if (action == "ConfirmSubscription") return confirm_subscription(form);
  if (action == "Unsubscribe") return unsubscribe(form);
  if (action == "ListSubscriptions") return list_subscriptions(form, false);
  if (action == "ListSubscriptionsByTopic") return list_subscriptions(form, true);
  if (action == "GetSubscriptionAttributes") return get_subscription_attributes(form);
  if (action == "SetSubscriptionAttributes") return set_subscription_attributes(form);
  if (action == "Publish") return publish_action(form);
  if (action.empty()) return Status::invalid("Invalid parameter: Action is required");
  return Status::invalid("The action " + quote(action, 64) +
                         " is not valid for this web service (Stageline's SNS answers "
                         "CreateTopic, DeleteTopic, ListTopics, GetTopicAttributes, "
                         "SetTopicAttributes, Subscribe, ConfirmSubscription, Unsubscribe, "
                         "ListSubscriptions, ListSubscriptionsByTopic, "
                         "GetSubscriptionAttributes, SetSubscriptionAttributes, Publish)");
}

Result<SnsApi::Output> SnsApi::create_topic(const Form& form) {
  Status bad;
  const std::string name = required(form, "Name", bad);
  if (!bad.ok()) return bad;
  if (name.ends_with(".fifo"))
    return Status::invalid("Invalid parameter: Name: FIFO topics are not supported");
  if (!valid_topic_name(name))
    return Status::invalid(
        "Invalid parameter: Topic Name: 1 to 256 letters, digits, hyphens and underscores");
  auto attributes = form_map(form, "Attributes");
  if (!attributes.ok()) return attributes.status();
  for (const auto& [k, v] : *attributes) {
    if (k == "FifoTopic" && v == "false") continue;
    if (!known_topic_attribute(k))
      return Status::invalid("Invalid parameter: Attributes Reason: " + quote(k, 64) +
                             " is not a topic attribute Stageline supports");
  }
  std::vector<std::pair<std::string, std::string>> tags;
  for (int i = 1;; ++i) {
    const std::string p = "Tags.member." + std::to_string(i);
    auto key = form.find(p + ".Key");
    if (key == form.end()) break;
    tags.emplace_back(key->second, optional(form, p + ".Value"));
  }
  const std::string arn = topic_arn(name);
  auto existing = find_topic(arn);
  if (existing.ok()) return Output(xml_element("TopicArn", arn));  // idempotent, as in AWS
  if (existing.status().code() != StatusCode::kNotFound) return existing.status();
  Topic t;
  t.name = name;
  t.arn = arn;
  t.attributes = std::move(*attributes);
  t.attributes.erase("FifoTopic");
  t.tags = std::move(tags);
  t.created_ms = options_.now_ms();
  if (Status s = save(t, true); !s.ok()) return s;
  return Output(xml_element("TopicArn", arn));
}

Result<SnsApi::Output> SnsApi::delete_topic(const Form& form) {
  Status bad;
  const std::string arn = required(form, "TopicArn", bad);
  if (!bad.ok()) return bad;
  auto name = topic_name(arn);
  if (!name) return Status::invalid("Invalid parameter: TopicArn");
  // Deleting a topic that does not exist is not an error (as in AWS). Its
  // subscriptions go with it.
  for (;;) {
    auto page = subscriptions(&arn, "", kPageSize);
    if (!page.ok()) return page.status();
    for (const auto& s : page->items)
      if (Status st = store_.delete_resource(kService, "subscription", s.arn);
          !st.ok() && st.code() != StatusCode::kNotFound)
        return st;
    if (page->next_key.empty()) break;
  }
  Status s = store_.delete_resource(kService, "topic", *name);
  if (!s.ok() && s.code() != StatusCode::kNotFound) return s;
  return Output();
}

Result<SnsApi::Output> SnsApi::list_topics(const Form& form) {
  const std::string token = optional(form, "NextToken");
  std::string after;
  if (!token.empty()) {
    auto name = topic_name(token);
    if (!name) return Status::invalid("Invalid parameter: NextToken");
    after = *name;
  }
  auto page = store_.list_resources(kService, "topic", kPageSize, after);
  if (!page.ok()) return page.status();
  std::string xml = "<Topics>";
  for (const auto& r : page->items)
    xml += "<member>" + xml_element("TopicArn", topic_arn(r.name)) + "</member>";
  xml += "</Topics>";
  if (!page->next_key.empty()) xml += xml_element("NextToken", topic_arn(page->next_key));
  return Output(xml);
}

Result<SnsApi::Output> SnsApi::get_topic_attributes(const Form& form) {
  Status bad;
  const std::string arn = required(form, "TopicArn", bad);
  if (!bad.ok()) return bad;
  auto t = find_topic(arn);
  if (!t.ok()) return t.status();
  int confirmed = 0, pending = 0;
  std::string after;
  for (;;) {
    auto page = subscriptions(&arn, after, kPageSize);
    if (!page.ok()) return page.status();
    for (const auto& s : page->items) (s.confirmed ? confirmed : pending)++;
    if (page->next_key.empty()) break;
    after = page->next_key;
  }
  std::map<std::string, std::string> a = t->attributes;
  a["TopicArn"] = arn;
  a["Owner"] = options_.account_id;
  a.emplace("DisplayName", "");
  a["SignatureVersion"] = "2";
  a["SubscriptionsConfirmed"] = std::to_string(confirmed);
  a["SubscriptionsPending"] = std::to_string(pending);
  a["SubscriptionsDeleted"] = "0";
  return Output("<Attributes>" + attributes_xml(a) + "</Attributes>");
}

Result<SnsApi::Output> SnsApi::set_topic_attributes(const Form& form) {
  Status bad;
  const std::string arn = required(form, "TopicArn", bad);
  const std::string name = required(form, "AttributeName", bad);
  if (!bad.ok()) return bad;
  if (!known_topic_attribute(name))
    return Status::invalid("Invalid parameter: AttributeName: " + quote(name, 64) +
                           " is not a topic attribute Stageline supports");
  if (name == "SignatureVersion" && optional(form, "AttributeValue") != "2")
    return Status::invalid(
        "Invalid parameter: SignatureVersion: Stageline signs with SignatureVersion 2 only");
  auto t = find_topic(arn);
  if (!t.ok()) return t.status();
  t->attributes[name] = optional(form, "AttributeValue");
  if (Status s = save(*t, false); !s.ok()) return s;
  return Output();
}

Result<SnsApi::Output> SnsApi::subscribe(const Form& form, std::string_view host) {
  Status bad;
  const std::string arn = required(form, "TopicArn", bad);
  const std::string protocol = to_lower(required(form, "Protocol", bad));
  if (!bad.ok()) return bad;
  const std::string endpoint = optional(form, "Endpoint");
  const auto& supported = supported_protocols();
  if (std::find(supported.begin(), supported.end(), protocol) == supported.end())
    return Status::invalid("Invalid parameter: Protocol: " + quote(protocol, 40) +
                           " is not supported here; Stageline delivers to http, https, " +
                           std::string(kFileProtocol) + " (a file of JSON lines) and " +
                           std::string(kProgramProtocol) + " (a command given each message)");
  if ((protocol == "http" && !endpoint.starts_with("http://")) ||
      (protocol == "https" && !endpoint.starts_with("https://")))
    return Status::invalid("Invalid parameter: Endpoint: an " + protocol +
                           " endpoint is a URL starting with " + protocol + "://");
  if (protocol == kFileProtocol && !endpoint.starts_with("/"))
    return Status::invalid("Invalid parameter: Endpoint: a " + std::string(kFileProtocol) +
                           " endpoint is an absolute path");
  if (protocol == kProgramProtocol && endpoint.empty())
    return Status::invalid("Invalid parameter: Endpoint: a " + std::string(kProgramProtocol) +
                           " endpoint is a shell command");
  auto attributes = form_map(form, "Attributes");
  if (!attributes.ok()) return attributes.status();
  for (const auto& [k, v] : *attributes) {
    if (k != "RawMessageDelivery")
      return Status::invalid("Invalid parameter: Attributes Reason: " + quote(k, 64) +
                             " is not supported (Stageline supports RawMessageDelivery)");
    if (v != "true" && v != "false")
      return Status::invalid(
          "Invalid parameter: Attributes Reason: RawMessageDelivery: "
          "true or false");
  }
  auto topic = find_topic(arn);
  if (!topic.ok()) return topic.status();
  const bool return_arn = iequals(optional(form, "ReturnSubscriptionArn"), "true");
  // The same endpoint subscribed twice is one subscription (as in AWS).
  std::string after;
  for (;;) {
    auto page = subscriptions(&arn, after, kPageSize);
    if (!page.ok()) return page.status();
    for (const auto& s : page->items)
      if (s.protocol == protocol && s.endpoint == endpoint)
        return Output(xml_element("SubscriptionArn",
                                  s.confirmed || return_arn ? s.arn : "pending confirmation"));
    if (page->next_key.empty()) break;
    after = page->next_key;
  }
  Subscription s;
  s.arn = arn + ":" + options_.new_id();
  s.topic_arn = arn;
  s.protocol = protocol;
  s.endpoint = endpoint;
  s.owner = options_.account_id;
  s.attributes = std::move(*attributes);
  s.created_ms = options_.now_ms();
  s.base_url = "http://" + std::string(host);
  const bool needs_confirmation = protocol == "http" || protocol == "https";
  s.confirmed = !needs_confirmation;
  if (needs_confirmation) {
    auto token = new_token();
    if (!token.ok()) return token.status();
    s.token = std::move(*token);
  }
  if (Status st = save(s, true); !st.ok()) return st;
  if (needs_confirmation) {
    if (Status st = send_confirmation(s); !st.ok()) {
      // Nothing was sent: leave no subscription nobody can confirm.
      (void)store_.delete_resource(kService, "subscription", s.arn);
      return st;
    }
    return Output(xml_element("SubscriptionArn", return_arn ? s.arn : "pending confirmation"));
  }
  return Output(xml_element("SubscriptionArn", s.arn));
}

Status SnsApi::send_confirmation(const Subscription& s) {
  const std::string base = base_url(s);
  Delivery d;
  d.subscription_arn = s.arn;
  d.protocol = s.protocol;
  d.endpoint = s.endpoint;
  d.message.type = MessageType::kSubscriptionConfirmation;
  d.message.message_id = options_.new_id();
  d.message.topic_arn = s.topic_arn;
  d.message.token = s.token;
  d.message.message = "You have chosen to subscribe to the topic " + s.topic_arn +
                      ".\nTo confirm the subscription, visit the SubscribeURL included in this "
                      "message.";
  d.message.subscribe_url =
      base + "/sns/confirm?Action=ConfirmSubscription&TopicArn=" + form_encode(s.topic_arn) +
      "&Token=" + s.token;
  d.message.timestamp = iso8601_ms(options_.now_ms());
  d.message.signing_cert_url = base + certificate_path();
  std::vector<Delivery> one;
  one.push_back(std::move(d));
  return deliverer_.enqueue(std::move(one));
}

Result<SnsApi::Output> SnsApi::confirm_subscription(const Form& form) {
  Status bad;
  const std::string arn = required(form, "TopicArn", bad);
  const std::string token = required(form, "Token", bad);
  if (!bad.ok()) return bad;
  auto topic = find_topic(arn);
  if (!topic.ok()) return topic.status();
  std::string after;
  for (;;) {
    auto page = subscriptions(&arn, after, kPageSize);
    if (!page.ok()) return page.status();
    for (auto& s : page->items) {
      if (s.token.empty() || !api::sigv4::constant_time_equals(s.token, token)) continue;
      if (!s.confirmed) {
        s.confirmed = true;
        if (Status st = save(s, false); !st.ok()) return st;
      }
      return Output(xml_element("SubscriptionArn", s.arn));
    }
    if (page->next_key.empty()) break;
    after = page->next_key;
  }
  return Status::invalid("Invalid token");
}

Result<SnsApi::Output> SnsApi::unsubscribe(const Form& form) {
  Status bad;
  const std::string arn = required(form, "SubscriptionArn", bad);
  if (!bad.ok()) return bad;
  auto s = find_subscription(arn);
  if (!s.ok()) return s.status();
  if (Status st = store_.delete_resource(kService, "subscription", arn); !st.ok()) return st;
  return Output();
}

Result<SnsApi::Output> SnsApi::list_subscriptions(const Form& form, bool by_topic) {
  std::string topic;
  if (by_topic) {
    Status bad;
    topic = required(form, "TopicArn", bad);
    if (!bad.ok()) return bad;
    auto t = find_topic(topic);
    if (!t.ok()) return t.status();
  }
  const std::string token = optional(form, "NextToken");
  if (!token.empty() && !token.starts_with(by_topic ? topic + ":" : "arn:aws:sns:"))
    return Status::invalid("Invalid parameter: NextToken");
  auto page = subscriptions(by_topic ? &topic : nullptr, token, kPageSize);
  if (!page.ok()) return page.status();
  std::string xml = "<Subscriptions>";
  for (const auto& s : page->items)
    xml += "<member>" + xml_element("TopicArn", s.topic_arn) + xml_element("Protocol", s.protocol) +
           xml_element("SubscriptionArn", s.confirmed ? s.arn : "PendingConfirmation") +
           xml_element("Owner", s.owner) + xml_element("Endpoint", s.endpoint) + "</member>";
  xml += "</Subscriptions>";
  if (!page->next_key.empty()) xml += xml_element("NextToken", page->next_key);
  return Output(xml);
}

Result<SnsApi::Output> SnsApi::get_subscription_attributes(const Form& form) {
  Status bad;
  const std::string arn = required(form, "SubscriptionArn", bad);
  if (!bad.ok()) return bad;
  auto s = find_subscription(arn);
  if (!s.ok()) return s.status();
  std::map<std::string, std::string> a = s->attributes;
  a.emplace("RawMessageDelivery", "false");
  a["SubscriptionArn"] = s->arn;
  a["TopicArn"] = s->topic_arn;
  a["Owner"] = s->owner;
  a["Protocol"] = s->protocol;
  a["Endpoint"] = s->endpoint;
  a["PendingConfirmation"] = s->confirmed ? "false" : "true";
  a["ConfirmationWasAuthenticated"] = s->token.empty() ? "true" : "false";
  return Output("<Attributes>" + attributes_xml(a) + "</Attributes>");
}

Result<SnsApi::Output> SnsApi::set_subscription_attributes(const Form& form) {
  Status bad;
  const std::string arn = required(form, "SubscriptionArn", bad);
  const std::string name = required(form, "AttributeName", bad);
  if (!bad.ok()) return bad;
  const std::string value = optional(form, "AttributeValue");
  if (name != "RawMessageDelivery")
    return Status::invalid("Invalid parameter: AttributeName: " + quote(name, 64) +
                           " is not supported (Stageline supports RawMessageDelivery)");
  if (value != "true" && value != "false")
    return Status::invalid(
        "Invalid parameter: AttributeValue: RawMessageDelivery is true or false");
  auto s = find_subscription(arn);
  if (!s.ok()) return s.status();
  s->attributes[name] = value;
  if (Status st = save(*s, false); !st.ok()) return st;
  return Output();
}

Result<SnsApi::Output> SnsApi::publish_action(const Form& form) {
  std::string arn = optional(form, "TopicArn");
  if (arn.empty()) arn = optional(form, "TargetArn");
  if (arn.empty()) {
    if (!optional(form, "PhoneNumber").empty())
      return Status::invalid("Invalid parameter: PhoneNumber: SMS is not supported");
    return Status::invalid(
        "Invalid parameter: TopicArn or TargetArn Reason: no value for "
        "required parameter");
  }
  const std::string message = optional(form, "Message");
  const std::string subject = optional(form, "Subject");
  const std::string structure = optional(form, "MessageStructure");
  std::map<std::string, std::string> messages;
  if (structure == "json") {
    std::error_code ec;
    json::value v = json::parse(message, ec);
    if (ec || !v.is_object())
      return Status::invalid(
          "Invalid parameter: Message Structure - JSON message body failed "
          "to parse");
    for (const auto& [k, val] : v.as_object()) {
      if (!val.is_string())
        return Status::invalid("Invalid parameter: Message Structure - the value of " +
                               quote(std::string(k), 40) + " is not a string");
      messages[std::string(k)] = std::string(val.as_string());
    }
    if (!messages.contains("default"))
      return Status::invalid(
          "Invalid parameter: Message Structure - No default entry in JSON "
          "message body");
  } else if (!structure.empty()) {
    return Status::invalid("Invalid parameter: MessageStructure: only json is accepted");
  } else {
    messages["default"] = message;
  }
  auto id = deliver(arn, subject, messages);
  if (!id.ok()) return id.status();
  return Output(xml_element("MessageId", *id));
}

Result<std::string> SnsApi::publish(const std::string& topic_arn, const std::string& subject,
                                    const std::string& message) {
  return deliver(topic_arn, subject, {{"default", message}});
}

Result<std::string> SnsApi::deliver(const std::string& arn, const std::string& subject,
                                    const std::map<std::string, std::string>& messages) {
  for (const auto& [protocol, text] : messages) {
    if (text.empty()) return Status::invalid("Invalid parameter: Empty message");
    if (text.size() > kMaxMessageBytes)
      return Status::invalid("Invalid parameter: Message too long");
  }
  if (subject.size() > 100 || std::any_of(subject.begin(), subject.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e;
      }))
    return Status::invalid(
        "Invalid parameter: Subject: at most 100 printable ASCII characters, no line breaks");
  auto topic = find_topic(arn);
  if (!topic.ok()) return topic.status();
  const std::string message_id = options_.new_id();
  const std::string timestamp = iso8601_ms(options_.now_ms());
  std::vector<Delivery> deliveries;
  std::string after;
  for (;;) {
    auto page = subscriptions(&arn, after, kPageSize);
    if (!page.ok()) return page.status();
    for (const auto& s : page->items) {
      if (!s.confirmed) continue;
      const std::string base = base_url(s);
      Delivery d;
      d.subscription_arn = s.arn;
      d.protocol = s.protocol;
      d.endpoint = s.endpoint;
      auto raw = s.attributes.find("RawMessageDelivery");
      d.raw = raw != s.attributes.end() && raw->second == "true";
      d.message.type = MessageType::kNotification;
      d.message.message_id = message_id;
      d.message.topic_arn = arn;
      d.message.subject = subject;
      auto own = messages.find(s.protocol);
      d.message.message = own != messages.end() ? own->second : messages.at("default");
      d.message.timestamp = timestamp;
      d.message.unsubscribe_url =
          base + "/sns/unsubscribe?Action=Unsubscribe&SubscriptionArn=" + form_encode(s.arn);
      d.message.signing_cert_url = base + certificate_path();
      deliveries.push_back(std::move(d));
    }
    if (page->next_key.empty()) break;
    after = page->next_key;
  }
  if (Status s = deliverer_.enqueue(std::move(deliveries)); !s.ok()) return s;
  return message_id;
}

// ---- Unsigned routes ---------------------------------------------------------

bool SnsApi::is_public(const http::Request& request) {
  return request.method == "GET" && request.path().starts_with("/sns/");
}

http::Response SnsApi::handle_public(const http::Request& request) {
  http::Response r;
  const std::string_view path = request.path();
  if (path == certificate_path()) {
    r.headers.emplace_back("Content-Type", "application/x-pem-file");
    r.body = key_.certificate_pem();
    return r;
  }
  std::string action;
  if (path == "/sns/confirm") action = "ConfirmSubscription";
  if (path == "/sns/unsubscribe") action = "Unsubscribe";
  r.headers.emplace_back("Content-Type", "text/xml");
  if (action.empty()) {
    r.status = 404;
    r.body =
        error_xml(404, "NotFound", "No such SNS resource: " + quote(path, 100), request.request_id);
    return r;
  }
  Form form;
  Result<Output> result = Status::invalid("unreachable");
  if (Status parsed = parse_form(request.query(), form); !parsed.ok())
    result = parsed;
  else if (action == "ConfirmSubscription")
    result = confirm_subscription(form);
  else
    result = unsubscribe(form);
  if (!result.ok()) {
    SnsError e = to_error(result.status());
    if (e.http_status >= 500 && options_.log)
      options_.log("request " + request.request_id + ": sns " + action + ": " +
                   result.status().message());
    r.status = e.http_status;
    r.body = error_xml(e.http_status, e.code, e.message, request.request_id);
    return r;
  }
  const std::string* xml = result->has_value() ? &**result : nullptr;
  r.body = response_xml(action, xml, request.request_id);
  return r;
}

}  // namespace stageline::sns
