#include "secrets/resolver.h"

#include <boost/json.hpp>

#include "base/strings.h"

namespace stageline::secrets {

namespace json = boost::json;

Result<SecretReference> parse_secret_reference(const std::string& text) {
  std::vector<std::string> parts = split(text, ':');
  SecretReference r;
  size_t next = 1;
  if (text.starts_with("arn:")) {
    // arn:aws:secretsmanager:region:account:secret:name-AbCdEf is 7 parts.
    if (parts.size() < 7)
      return Status::invalid("secret reference " + text + ": an ARN has 7 parts separated by ':'");
    r.secret_id = join({parts.begin(), parts.begin() + 7}, ":");
    next = 7;
  } else {
    r.secret_id = parts.empty() ? "" : parts[0];
  }
  if (r.secret_id.empty())
    return Status::invalid("secret reference " + quote(text) + " has no secret id");
  if (parts.size() > next + 3)
    return Status::invalid("secret reference " + text +
                           " has too many parts (secret-id:json-key:version-stage:version-id)");
  std::string* fields[] = {&r.json_key, &r.version_stage, &r.version_id};
  for (size_t i = next, f = 0; i < parts.size(); ++i, ++f) *fields[f] = parts[i];
  return r;
}

Result<std::string> StoreResolver::parameter(const std::string& name) {
  ParameterSelector sel = parse_parameter_selector(name);
  if (!sel.label.empty())
    return Status::invalid("parameter " + name + ": labels are not supported (use a version)");
  auto p = parameters_.get(sel.name, sel.version, true);
  if (!p.ok()) {
    if (p.status().code() == StatusCode::kNotFound ||
        p.status().code() == StatusCode::kFailedPrecondition)
      return Status::not_found("parameter does not exist: " + name);
    return p.status().with_context("parameter " + name);
  }
  return p->value;
}

Result<std::string> StoreResolver::secret(const std::string& reference) {
  auto ref = parse_secret_reference(reference);
  if (!ref.ok()) return ref.status();
  auto v = secrets_.get_value(ref->secret_id, ref->version_id, ref->version_stage);
  if (!v.ok()) {
    if (v.status().code() == StatusCode::kNotFound)
      return Status::not_found("ResourceNotFoundException: " + v.status().message() + " (secret " +
                               ref->secret_id + ")");
    return v.status().with_context("secret " + ref->secret_id);
  }
  std::string value =
      v->payload.string_value ? *v->payload.string_value : v->payload.binary_value.value_or("");
  if (ref->json_key.empty()) return value;
  if (!v->payload.string_value)
    return Status::invalid("secret " + ref->secret_id +
                           " has a SecretBinary, not a JSON "
                           "SecretString, so json-key " +
                           ref->json_key + " cannot be read");
  boost::system::error_code ec;
  json::value doc = json::parse(value, ec);
  if (ec || !doc.is_object())
    return Status::invalid("secret " + ref->secret_id +
                           ": the SecretString is not a JSON "
                           "object, so json-key " +
                           ref->json_key + " cannot be read");
  const json::value* field = doc.as_object().if_contains(ref->json_key);
  if (!field)
    return Status::invalid("secret " + ref->secret_id + " has no JSON key " + ref->json_key);
  if (field->is_string()) return std::string(field->as_string());
  return json::serialize(*field);
}

}  // namespace stageline::secrets
