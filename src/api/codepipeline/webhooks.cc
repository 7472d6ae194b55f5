// V1 webhooks (reference §12): PutWebhook, ListWebhooks, DeleteWebhook,
// RegisterWebhookWithThirdParty, DeregisterWebhookWithThirdParty, and the
// deliveries a repository host POSTs to a webhook's URL (docs/api.md,
// "Webhooks").
//
// A webhook is a resource (service "codepipeline", kind "webhook", named
// after the webhook) whose document is {"definition", "token", "tags",
// "lastTriggered", "errorMessage", "errorCode"}: the definition as put (its
// SecretToken in clear, since deliveries are checked with it), and the
// random token that makes its URL http://<endpoint>/webhooks/<token>. A
// delivery finds its webhook by that token among at most 300.
#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstring>

#include "api/codepipeline/codepipeline_api.h"
#include "api/codepipeline/render.h"
#include "model/pipeline_json.h"

namespace stageline::api {

namespace json = boost::json;

namespace {

constexpr std::string_view kService = "codepipeline";
constexpr std::string_view kWebhookKind = "webhook";
constexpr size_t kMaxWebhooks = 300;  // per region (reference §12)
constexpr std::string_view kRedacted = "****";

// ---- The JSONPath subset of filters: $, .name, [n], ['name'] ---------------

struct PathStep {
  bool is_index = false;
  std::string key;
  size_t index = 0;
};

std::optional<std::vector<PathStep>> parse_json_path(std::string_view p) {
  if (p.empty() || p[0] != '$') return std::nullopt;
  std::vector<PathStep> steps;
  size_t i = 1;
  while (i < p.size()) {
    PathStep step;
    if (p[i] == '.') {
      size_t end = p.find_first_of(".[", i + 1);
      if (end == std::string_view::npos) end = p.size();
      step.key = std::string(p.substr(i + 1, end - i - 1));
      if (step.key.empty() || step.key == "*" ||
          step.key.find_first_of("]'\"*?()@ ") != std::string::npos)
        return std::nullopt;
      i = end;
    } else if (p[i] == '[') {
      size_t end = p.find(']', i);
      if (end == std::string_view::npos) return std::nullopt;
      std::string_view inside = p.substr(i + 1, end - i - 1);
      if (inside.size() >= 2 && (inside.front() == '\'' || inside.front() == '"') &&
          inside.back() == inside.front()) {
        step.key = std::string(inside.substr(1, inside.size() - 2));
        if (step.key.empty()) return std::nullopt;
      } else {
        if (inside.empty() || inside.size() > 9 ||
            !std::all_of(inside.begin(), inside.end(), [](char c) { return c >= '0' && c <= '9'; }))
          return std::nullopt;
        step.is_index = true;
        step.index = std::stoul(std::string(inside));
      }
      i = end + 1;
    } else {
      return std::nullopt;
    }
    steps.push_back(std::move(step));
  }
  return steps;
}

const json::value* select(const json::value& doc, const std::vector<PathStep>& steps) {
  const json::value* at = &doc;
  for (const auto& s : steps) {
    if (s.is_index) {
      if (!at->is_array() || s.index >= at->as_array().size()) return nullptr;
      at = &at->as_array()[s.index];
    } else {
      if (!at->is_object()) return nullptr;
      at = at->as_object().if_contains(s.key);
      if (at == nullptr) return nullptr;
    }
  }
  return at;
}

// The {Name} placeholders of a matchEquals value.
std::vector<std::string> placeholders(std::string_view s) {
  std::vector<std::string> names;
  for (size_t at = s.find('{'); at != std::string_view::npos; at = s.find('{', at + 1)) {
    size_t end = s.find('}', at);
    if (end == std::string_view::npos) break;
    names.emplace_back(s.substr(at + 1, end - at - 1));
  }
  return names;
}

// ---- Authentication ----------------------------------------------------------

struct Address {
  int family = 0;  // AF_INET or AF_INET6
  unsigned char bytes[16] = {};
};

std::optional<Address> parse_address(std::string_view text) {
  std::string s(text);
  Address a;
  if (inet_pton(AF_INET, s.c_str(), a.bytes) == 1) {
    a.family = AF_INET;
    return a;
  }
  if (inet_pton(AF_INET6, s.c_str(), a.bytes) == 1) {
    a.family = AF_INET6;
    // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is the IPv4 address.
    static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(a.bytes, kMapped, 12) == 0) {
      std::memmove(a.bytes, a.bytes + 12, 4);
      std::memset(a.bytes + 4, 0, 12);
      a.family = AF_INET;
    }
    return a;
  }
  return std::nullopt;
}

struct Cidr {
  Address address;
  int bits = 0;
};

// "10.0.0.0/8", "2001:db8::/32", or one address (all its bits).
std::optional<Cidr> parse_cidr(std::string_view text) {
  Cidr c;
  size_t slash = text.find('/');
  auto address = parse_address(text.substr(0, slash));
  if (!address) return std::nullopt;
  c.address = *address;
  const int max = address->family == AF_INET ? 32 : 128;
  c.bits = max;
  if (slash != std::string_view::npos) {
    std::string_view n = text.substr(slash + 1);
    if (n.empty() || n.size() > 3 ||
        !std::all_of(n.begin(), n.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
      return std::nullopt;
    c.bits = std::stoi(std::string(n));
    if (c.bits > max) return std::nullopt;
  }
  return c;
}

bool contains(const Cidr& range, const Address& a) {
  if (range.address.family != a.family) return false;
  int bits = range.bits;
  for (int i = 0; bits > 0; ++i, bits -= 8) {
    unsigned char mask = bits >= 8 ? 0xff : static_cast<unsigned char>(0xff << (8 - bits));
    if ((range.address.bytes[i] & mask) != (a.bytes[i] & mask)) return false;
  }
  return true;
}

// "127.0.0.1:53122" or "[::1]:53122" -> the address.
std::string peer_address(std::string_view peer) {
  if (!peer.empty() && peer.front() == '[') {
    size_t end = peer.find(']');
    return std::string(peer.substr(1, end == std::string_view::npos ? 0 : end - 1));
  }
  return std::string(peer.substr(0, peer.rfind(':')));
}

// GitHub's signature header value ("sha256=<hex>") checked against the
// HMAC of the body, in constant time.
bool signature_matches(std::string_view header, std::string_view prefix, const EVP_MD* md,
                       std::string_view secret, std::string_view body) {
  if (!header.starts_with(prefix)) return false;
  std::string_view hex = header.substr(prefix.size());
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(md, secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len) == nullptr)
    return false;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string want;
  for (unsigned int i = 0; i < len; ++i) {
    want.push_back(kHex[mac[i] >> 4]);
    want.push_back(kHex[mac[i] & 0xf]);
  }
  std::string got(hex);
  std::transform(got.begin(), got.end(), got.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return got.size() == want.size() && CRYPTO_memcmp(got.data(), want.data(), want.size()) == 0;
}

std::optional<std::string> random_token() {
  unsigned char bytes[20];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return std::nullopt;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

wire::Response json_response(int status, json::object body) {
  wire::Response r;
  r.http_status = status;
  r.content_type = "application/json";
  r.body = json::serialize(body);
  return r;
}

}  // namespace

void CodePipelineApi::set_endpoint_url(std::function<std::string()> endpoint_url) {
  endpoint_url_ = std::move(endpoint_url);
}

std::string CodePipelineApi::webhook_arn(const std::string& name) const {
  return "arn:aws:codepipeline:" + options_.region + ":" + options_.account_id + ":webhook:" + name;
}

json::object CodePipelineApi::webhook_item(const json::object& doc) const {
  json::object definition = doc.at("definition").as_object();
  // The secret is never shown (reference §12); PutWebhook with "****" keeps it.
  if (json::object* config = definition["authenticationConfiguration"].if_object())
    if (config->contains("SecretToken")) (*config)["SecretToken"] = kRedacted;
  const std::string name(definition.at("name").as_string());
  std::string endpoint = endpoint_url_ ? endpoint_url_() : "";
  if (endpoint.empty()) endpoint = "http://127.0.0.1";
  json::object item{{"definition", std::move(definition)},
                    {"url", endpoint + "/webhooks/" + std::string(doc.at("token").as_string())}};
  put_nonempty(item, "errorMessage", str(doc, "errorMessage"));
  put_nonempty(item, "errorCode", str(doc, "errorCode"));
  if (const json::value* t = doc.if_contains("lastTriggered"); t && t->is_int64())
    item["lastTriggered"] = ts(t->as_int64());
  item["arn"] = webhook_arn(name);
  if (const json::value* tags = doc.if_contains("tags");
      tags && tags->is_array() && !tags->as_array().empty())
    item["tags"] = *tags;
  return item;
}

CodePipelineApi::Out CodePipelineApi::put_webhook(const In& in) {
  const json::object* def = obj(in, "webhook");
  STAGELINE_CHECK(def != nullptr);  // required
  json::object definition = *def;
  const std::string name = str(definition, "name");
  const std::string pipeline_name = str(definition, "targetPipeline");
  const std::string action_name = str(definition, "targetAction");

  auto p = pipeline(pipeline_name);
  if (!p.ok()) return p.error();
  // The target must be an action of the first (source) stage.
  const model::ActionDeclaration* action = nullptr;
  if (!p->declaration.stages.empty())
    for (const auto& a : p->declaration.stages.front().actions)
      if (a.name == action_name) action = &a;
  if (action == nullptr)
    return error("ValidationException", "targetAction '" + action_name +
                                            "' is not an action of the first stage of "
                                            "pipeline '" +
                                            pipeline_name + "'");

  // Authentication (reference §12): each type takes exactly its property.
  const std::string auth = str(definition, "authentication");
  json::object config;
  if (const json::object* c = obj(definition, "authenticationConfiguration")) config = *c;
  const bool has_ip = config.contains("AllowedIPRange");
  const bool has_secret = config.contains("SecretToken");
  std::string auth_problem;
  if (auth == "GITHUB_HMAC" && (!has_secret || has_ip))
    auth_problem = "GITHUB_HMAC takes authenticationConfiguration.SecretToken and nothing else";
  else if (auth == "IP" && (!has_ip || has_secret))
    auth_problem = "IP takes authenticationConfiguration.AllowedIPRange and nothing else";
  else if (auth == "IP" && !parse_cidr(str(config, "AllowedIPRange")))
    auth_problem = "AllowedIPRange '" + str(config, "AllowedIPRange") +
                   "' is not an IP address range in CIDR notation (10.0.0.0/8)";
  else if (auth == "UNAUTHENTICATED" && (has_ip || has_secret))
    auth_problem = "UNAUTHENTICATED takes an empty authenticationConfiguration";
  if (!auth_problem.empty())
    return error("InvalidWebhookAuthenticationParametersException", auth_problem);

  // Filters: a JSONPath this server can evaluate, placeholders that name
  // the target action's configuration.
  if (const json::value* filters = definition.if_contains("filters");
      filters && filters->is_array())
    for (const auto& f : filters->as_array()) {
      const std::string path = str(f.as_object(), "jsonPath");
      if (!parse_json_path(path))
        return error("InvalidWebhookFilterPatternException",
                     "jsonPath '" + path +
                         "' is not supported: Stageline evaluates $ followed by .name, [n] and "
                         "['name'] steps");
      for (const auto& key : placeholders(str(f.as_object(), "matchEquals")))
        if (!action->configuration || !action->configuration->contains(key))
          return error("InvalidWebhookFilterPatternException",
                       "matchEquals uses {" + key +
                           "}, which is not a configuration key of "
                           "action '" +
                           action_name + "'");
    }

  auto tags = read_tags(in, model_);
  if (!tags.ok()) return tags.error();

  auto existing = store_.get_resource(std::string(kService), std::string(kWebhookKind), name);
  if (!existing.ok() && existing.status().code() != StatusCode::kNotFound)
    return from_status(existing.status());
  json::object doc;
  if (existing.ok()) {
    boost::system::error_code ec;
    json::value old = json::parse(existing->document_json, ec);
    if (ec || !old.is_object() || !old.as_object().contains("token"))
      return from_status(Status::internal("read webhook " + name + ": not a webhook document"));
    doc = std::move(old.as_object());
    // "****" (what ListWebhooks shows) keeps the stored secret.
    if (str(config, "SecretToken") == kRedacted)
      if (const json::object* old_config =
              obj(doc.at("definition").as_object(), "authenticationConfiguration"))
        if (const json::value* kept = old_config->if_contains("SecretToken"))
          config["SecretToken"] = *kept;
  } else {
    auto listed = store_.list_resources(std::string(kService), std::string(kWebhookKind),
                                        static_cast<int>(kMaxWebhooks), "");
    if (!listed.ok()) return from_status(listed.status());
    if (listed->items.size() >= kMaxWebhooks)
      return error("LimitExceededException",
                   "The number of webhooks in this region has reached its limit (300)");
    auto token = random_token();
    if (!token) return from_status(Status::internal("make a webhook URL: no randomness"));
    doc["token"] = *token;
  }
  if (str(config, "SecretToken") == kRedacted)
    return error("InvalidWebhookAuthenticationParametersException",
                 "SecretToken '****' keeps the secret of an existing webhook; webhook '" + name +
                     "' has none");
  definition["authenticationConfiguration"] = config;
  doc["definition"] = definition;
  doc["tags"] = model::encode_tags(*tags);

  store::ResourceRecord r;
  r.service = kService;
  r.kind = kWebhookKind;
  r.name = name;
  r.document_json = json::serialize(doc);
  r.created_ms = r.updated_ms = options_.now_ms();
  Status s = existing.ok() ? store_.update_resource(r) : store_.insert_resource(r);
  if (!s.ok()) return from_status(s);
  return json::value(json::object{{"webhook", webhook_item(doc)}});
}

CodePipelineApi::Out CodePipelineApi::list_webhooks(const In& in) {
  int64_t limit = 100;
  if (const json::value* v = in.if_contains("MaxResults"); v && v->is_int64())
    limit = v->as_int64();
  std::string after;
  if (auto token = opt_str(in, "NextToken")) {
    auto position = tokens_.redeem("ListWebhooks", "", *token);
    if (!position.ok()) return position.error();
    if (!position->is_string()) return error("InvalidNextTokenException", "Invalid token");
    after = std::string(position->as_string());
  }
  auto page = store_.list_resources(std::string(kService), std::string(kWebhookKind),
                                    static_cast<int>(limit), after);
  if (!page.ok()) return from_status(page.status());
  json::array items;
  for (const auto& r : page->items) {
    boost::system::error_code ec;
    json::value doc = json::parse(r.document_json, ec);
    if (ec || !doc.is_object() || !doc.as_object().contains("definition"))
      return from_status(Status::internal("read webhook " + r.name + ": not a webhook document"));
    items.push_back(webhook_item(doc.as_object()));
  }
  json::object out{{"webhooks", std::move(items)}};
  if (!page->next_key.empty())
    out["NextToken"] = tokens_.issue("ListWebhooks", "", json::value(page->next_key));
  return json::value(std::move(out));
}

CodePipelineApi::Out CodePipelineApi::delete_webhook(const In& in) {
  // Deleting a webhook that is not there succeeds (reference §1.8).
  Status s =
      store_.delete_resource(std::string(kService), std::string(kWebhookKind), str(in, "name"));
  if (!s.ok() && s.code() != StatusCode::kNotFound) return from_status(s);
  return json::value(json::object());
}

CodePipelineApi::Out CodePipelineApi::webhook_registration(const In& in) {
  // There is no third party to tell: a webhook is called by whoever is
  // given its URL. Success for an existing webhook, as AWS answers.
  const std::string name = str(in, "webhookName");
  auto r = store_.get_resource(std::string(kService), std::string(kWebhookKind), name);
  if (r.ok()) return json::value(json::object());
  if (r.status().code() == StatusCode::kNotFound)
    return error("WebhookNotFoundException", "Account '" + options_.account_id +
                                                 "' does not have a webhook named '" + name + "'");
  return from_status(r.status());
}

wire::Response CodePipelineApi::receive_webhook(const WebhookDelivery& d) {
  // Find the webhook by its token (at most 300 webhooks).
  std::optional<store::ResourceRecord> found;
  json::object doc;
  auto listed = store_.list_resources(std::string(kService), std::string(kWebhookKind),
                                      static_cast<int>(kMaxWebhooks), "");
  if (!listed.ok()) return wire::encode_error(from_status(listed.status()));
  for (auto& r : listed->items) {
    boost::system::error_code ec;
    json::value v = json::parse(r.document_json, ec);
    if (ec || !v.is_object()) continue;
    const json::value* token = v.as_object().if_contains("token");
    if (token && token->is_string() && token->as_string().size() == d.token.size() &&
        CRYPTO_memcmp(token->as_string().data(), d.token.data(), d.token.size()) == 0) {
      found = std::move(r);
      doc = std::move(v.as_object());
      break;
    }
  }
  if (!found) return json_response(404, {{"message", "No webhook has this URL"}});
  const json::object& definition = doc.at("definition").as_object();
  const std::string name(definition.at("name").as_string());
  json::object config;
  if (const json::object* c = obj(definition, "authenticationConfiguration")) config = *c;

  const std::string auth = str(definition, "authentication");
  if (auth == "GITHUB_HMAC") {
    const std::string secret = str(config, "SecretToken");
    bool ok = (!d.signature_sha256.empty() &&
               signature_matches(d.signature_sha256, "sha256=", EVP_sha256(), secret, d.body)) ||
              (!d.signature_sha1.empty() &&
               signature_matches(d.signature_sha1, "sha1=", EVP_sha1(), secret, d.body));
    if (!ok)
      return json_response(403,
                           {{"message",
                             "The X-Hub-Signature-256 (or X-Hub-Signature) header is missing or "
                             "is not the HMAC of the body with the webhook's secret"}});
  } else if (auth == "IP") {
    auto range = parse_cidr(str(config, "AllowedIPRange"));
    auto peer = parse_address(peer_address(d.peer));
    if (!range || !peer || !contains(*range, *peer))
      return json_response(403, {{"message",
                                  "The request's address is not in the webhook's "
                                  "AllowedIPRange"}});
  }

  boost::system::error_code ec;
  json::value body = json::parse(d.body, ec);
  if (ec) return json_response(400, {{"message", "The body is not JSON"}});

  // Every filter must match (reference §12), with {Key} placeholders taken
  // from the target action's configuration in the current pipeline.
  const std::string pipeline_name = str(definition, "targetPipeline");
  const std::string action_name = str(definition, "targetAction");
  auto p = store_.get_pipeline(pipeline_name);
  const model::ActionDeclaration* action = nullptr;
  if (p.ok() && !p->declaration.stages.empty())
    for (const auto& a : p->declaration.stages.front().actions)
      if (a.name == action_name) action = &a;
  std::string failure;
  if (const json::value* filters = definition.if_contains("filters");
      filters && filters->is_array())
    for (const auto& f : filters->as_array()) {
      const std::string path = str(f.as_object(), "jsonPath");
      auto steps = parse_json_path(path);
      const json::value* selected = steps ? select(body, *steps) : nullptr;
      if (selected == nullptr) {
        failure = path + " selects nothing";
        break;
      }
      auto expected = opt_str(f.as_object(), "matchEquals");
      if (!expected) continue;  // the path exists: that is the rule
      std::string want = *expected;
      for (const auto& key : placeholders(want)) {
        std::string value;
        if (action != nullptr && action->configuration) {
          auto it = action->configuration->find(key);
          if (it != action->configuration->end()) value = it->second;
        }
        std::string ph = "{" + key + "}";
        for (size_t at = want.find(ph); at != std::string::npos; at = want.find(ph, at))
          want.replace(at, ph.size(), value), at += value.size();
      }
      std::string got =
          selected->is_string() ? std::string(selected->as_string()) : json::serialize(*selected);
      if (got != want) {
        failure = path + " is '" + got + "', not '" + want + "'";
        break;
      }
    }
  if (!failure.empty())
    return json_response(200, {{"started", false}, {"message", "No filter match: " + failure}});

  auto started =
      engine_.start_execution(pipeline_name, {}, model::TriggerType::kWebhook, webhook_arn(name));
  if (started.ok()) {
    doc["lastTriggered"] = options_.now_ms();
    doc.erase("errorMessage");
    doc.erase("errorCode");
  } else {
    engine::ApiError e = engine::api_error(started.status());
    doc["errorMessage"] = clip(e.message, 1000);
    doc["errorCode"] = e.type;
  }
  found->document_json = json::serialize(doc);
  found->updated_ms = options_.now_ms();
  Status saved = store_.update_resource(*found);
  if (!started.ok()) return wire::encode_error(from_status(started.status()));
  if (!saved.ok()) return wire::encode_error(from_status(saved));
  return json_response(200, {{"started", true}, {"pipelineExecutionId", *started}});
}

}  // namespace stageline::api
