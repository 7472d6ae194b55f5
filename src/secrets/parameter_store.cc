#include "secrets/parameter_store.h"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>

#include "base/strings.h"

namespace stageline::secrets {

namespace json = boost::json;

namespace {

constexpr size_t kMaxValue = 4096;  // the Standard tier's limit
constexpr const char* kDefaultKey = "alias/aws/ssm";

std::string str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

int64_t num(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_int64() ? v->as_int64() : 0;
}

// Bound to each sealed value: the parameter's name, so a value cannot be
// moved to another parameter.
std::string context(const std::string& name) { return "ssm:parameter:" + name; }

Result<json::object> parse(const store::ResourceRecord& r) {
  boost::system::error_code ec;
  json::value v = json::parse(r.document_json, ec);
  if (ec || !v.is_object() || !v.as_object().contains("versions") ||
      !v.as_object().at("versions").is_array())
    return Status::internal("parameter " + r.name + " has a corrupt document");
  return std::move(v.as_object());
}

}  // namespace

std::optional<std::string> parameter_name_problem(const std::string& name) {
  if (name.empty() || name.size() > 1011)
    return "Parameter name must be between 1 and 1011 characters long";
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-' || c == '/';
    if (!ok)
      return "Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). If "
             "formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path "
             "can be formed as a mix of letters, numbers and the following 3 symbols .-_";
  }
  if (name.find('/') != std::string::npos && name.front() != '/')
    return "Parameter name must be a fully qualified name.";
  const std::string first = to_lower(name.front() == '/' ? name.substr(1) : name);
  if (first.starts_with("aws") || first.starts_with("ssm"))
    return "Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive).";
  size_t levels = 0;
  for (char c : name) levels += c == '/';
  if (levels > 15) return "Parameter name hierarchy can't have more than 15 levels";
  if (name.find("//") != std::string::npos || (name.size() > 1 && name.back() == '/'))
    return "Parameter name: a sub-path can't be empty";
  return std::nullopt;
}

ParameterSelector parse_parameter_selector(const std::string& text) {
  ParameterSelector s;
  const size_t colon = text.rfind(':');
  // An ARN (arn:aws:ssm:region:account:parameter/name) holds colons of its own.
  const size_t arn_end = text.starts_with("arn:") ? text.find(":parameter") : std::string::npos;
  if (colon == std::string::npos || (arn_end != std::string::npos && colon <= arn_end)) {
    s.name = text;
  } else {
    s.name = text.substr(0, colon);
    const std::string sel = text.substr(colon + 1);
    int64_t v = 0;
    auto [end, ec] = std::from_chars(sel.data(), sel.data() + sel.size(), v);
    if (!sel.empty() && ec == std::errc() && end == sel.data() + sel.size())
      s.version = v;
    else
      s.label = sel;
  }
  if (s.name.starts_with("arn:")) {
    const size_t p = s.name.find(":parameter");
    if (p != std::string::npos) {
      s.name = s.name.substr(p + std::string_view(":parameter").size());
      // arn:...:parameter/a/b names "/a/b"; arn:...:parameter/a names "a".
      if (std::count(s.name.begin(), s.name.end(), '/') == 1) s.name = s.name.substr(1);
    }
  }
  return s;
}

ParameterStore::ParameterStore(store::Store& store, ValueSealer& sealer,
                               ParameterStoreOptions options)
    : store_(store), sealer_(sealer), options_(std::move(options)) {
  STAGELINE_CHECK(options_.now_ms != nullptr);
}

std::string ParameterStore::arn(const std::string& name) const {
  return "arn:aws:ssm:" + options_.region + ":" + options_.account_id + ":parameter" +
         (name.starts_with("/") ? "" : "/") + name;
}

Result<int64_t> ParameterStore::put(const PutParameterRequest& request) {
  if (auto problem = parameter_name_problem(request.name)) return Status::invalid(*problem);
  if (request.value.empty() || request.value.size() > kMaxValue)
    return Status::invalid(
        "1 validation error detected: Value at 'value' failed to satisfy constraint: Member must "
        "have length less than or equal to 4096 and greater than or equal to 1");
  if (!request.type.empty() && request.type != "String" && request.type != "StringList" &&
      request.type != "SecureString")
    return Status::invalid("Type must be String, StringList or SecureString");
  if (!request.key_id.empty() && !request.type.empty() && request.type != "SecureString")
    return Status::invalid("KeyId is required for SecureString type parameter only.");
  if (!request.data_type.empty() && request.data_type != "text" &&
      request.data_type != "aws:ec2:image" && request.data_type != "aws:ssm:integration")
    return Status::invalid("The following data type is not supported: " + request.data_type +
                           " (supported data types are: aws:ssm:integration, aws:ec2:image, text)");
  auto sealed = sealer_.seal(request.value, context(request.name));
  if (!sealed.ok()) return sealed.status().with_context("put parameter " + request.name);
  const int64_t now = options_.now_ms();
  int64_t version = 0;
  Status written = store_.write([&](store::StoreWriter& w) -> Status {
    auto record = w.get_resource(kSsmService, kParameterKind, request.name);
    if (!record.ok() && record.status().code() != StatusCode::kNotFound) return record.status();
    json::object doc;
    if (record.ok()) {
      if (!request.overwrite)
        return Status(StatusCode::kAlreadyExists,
                      "The parameter already exists. To overwrite this value, set the overwrite "
                      "option in the request to true.");
      auto parsed = parse(*record);
      if (!parsed.ok()) return parsed.status();
      doc = std::move(*parsed);
    } else {
      if (request.type.empty())
        return Status::invalid("A parameter type is required when you create a parameter.");
      doc["name"] = request.name;
      doc["versions"] = json::array();
    }
    const std::string type = request.type.empty() ? str(doc, "type") : request.type;
    if (!request.key_id.empty() && type != "SecureString")
      return Status::invalid("KeyId is required for SecureString type parameter only.");
    doc["type"] = type;
    if (type == "SecureString")
      doc["keyId"] = !request.key_id.empty()      ? request.key_id
                     : !str(doc, "keyId").empty() ? str(doc, "keyId")
                                                  : std::string(kDefaultKey);
    else
      doc.erase("keyId");
    if (!request.description.empty()) doc["description"] = request.description;
    if (!request.data_type.empty() || !doc.contains("dataType"))
      doc["dataType"] = request.data_type.empty() ? "text" : request.data_type;
    json::array& versions = doc["versions"].as_array();
    version = versions.empty() ? 1 : num(versions.back().as_object(), "version") + 1;
    versions.push_back(json::object{{"version", version},
                                    {"type", type},
                                    {"value", base64_encode(*sealed)},
                                    {"lastModifiedMs", now},
                                    {"lastModifiedUser", request.user}});
    while (versions.size() > kMaxParameterVersions) versions.erase(versions.begin());
    store::ResourceRecord r{kSsmService, kParameterKind, request.name, json::serialize(doc), now,
                            now};
    return record.ok() ? w.update_resource(r) : w.insert_resource(r);
  });
  if (!written.ok()) return written;
  return version;
}

Result<Parameter> ParameterStore::get(const std::string& name, std::optional<int64_t> version,
                                      bool with_decryption) {
  auto record = store_.get_resource(kSsmService, kParameterKind, name);
  if (!record.ok()) {
    if (record.status().code() == StatusCode::kNotFound)
      return Status::not_found("Parameter " + name + " not found.");
    return record.status();
  }
  auto doc = parse(*record);
  if (!doc.ok()) return doc.status();
  const json::array& versions = doc->at("versions").as_array();
  const json::object* chosen = nullptr;
  for (const json::value& v : versions) {
    if (!v.is_object()) continue;
    if (!version || num(v.as_object(), "version") == *version) chosen = &v.as_object();
  }
  if (!chosen) {
    if (version)
      return Status(StatusCode::kFailedPrecondition, "Systems Manager could not find version " +
                                                         std::to_string(*version) + " of " + name +
                                                         ". Verify the version and try again.");
    return Status::internal("parameter " + name + " has no versions");
  }
  Parameter p;
  p.name = name;
  p.type = str(*chosen, "type").empty() ? str(*doc, "type") : str(*chosen, "type");
  p.version = num(*chosen, "version");
  p.last_modified_ms = num(*chosen, "lastModifiedMs");
  p.data_type = str(*doc, "dataType").empty() ? "text" : str(*doc, "dataType");
  p.arn = arn(name);
  p.key_id = p.type == "SecureString" ? str(*doc, "keyId") : "";
  p.description = str(*doc, "description");
  const std::string stored = str(*chosen, "value");
  if (p.type == "SecureString" && !with_decryption) {
    // As AWS: the ciphertext, base64.
    p.value = stored;
    return p;
  }
  auto blob = base64_decode(stored);
  if (!blob.ok()) return Status::internal("parameter " + name + " has a corrupt value");
  auto opened = sealer_.open(*blob, context(name));
  if (!opened.ok()) return opened.status().with_context("parameter " + name);
  p.value = std::move(*opened);
  return p;
}

Status ParameterStore::remove(const std::string& name) {
  Status s = store_.delete_resource(kSsmService, kParameterKind, name);
  if (s.code() == StatusCode::kNotFound)
    return Status::not_found("Parameter " + name + " not found.");
  return s;
}

}  // namespace stageline::secrets
