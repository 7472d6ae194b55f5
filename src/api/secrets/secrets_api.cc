#include "api/secrets/secrets_api.h"

#include <boost/json.hpp>
#include <charconv>

#include "api/wire/embedded.h"

namespace stageline::secretsapi {

namespace json = boost::json;

namespace {

std::string str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

bool flag(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_bool() && v->as_bool();
}

std::optional<int64_t> integer(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v && v->is_int64()) return v->as_int64();
  return std::nullopt;
}

double seconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

wire::Error internal(const Status& s, const char* type) {
  wire::Error e;
  e.type = type;
  e.message = "An internal error occurred";
  e.http_status = 500;
  e.detail = s.message();
  return e;
}

json::array stages_json(const std::vector<std::string>& stages) {
  json::array a;
  for (const auto& s : stages) a.push_back(json::value(s));
  return a;
}

json::object secret_entry(const secrets::SecretInfo& i) {
  json::object o{{"ARN", i.arn},
                 {"Name", i.name},
                 {"CreatedDate", seconds(i.created_ms)},
                 {"LastChangedDate", seconds(i.last_changed_ms)}};
  if (!i.description.empty()) o["Description"] = i.description;
  if (!i.kms_key_id.empty()) o["KmsKeyId"] = i.kms_key_id;
  if (i.deleted_ms) o["DeletedDate"] = seconds(*i.deleted_ms);
  json::array tags;
  for (const auto& [k, v] : i.tags) tags.push_back(json::object{{"Key", k}, {"Value", v}});
  o["Tags"] = std::move(tags);
  return o;
}

json::object versions_to_stages(const secrets::SecretInfo& i) {
  json::object m;
  for (const auto& v : i.versions) m[v.version_id] = stages_json(v.stages);
  return m;
}

}  // namespace

const wire::ServiceModel& ssm_model() { return wire::embedded_service_model("ssm"); }
const wire::ServiceModel& secretsmanager_model() {
  return wire::embedded_service_model("secretsmanager");
}

// ---- SSM ----------------------------------------------------------------------

SsmApi::SsmApi(secrets::ParameterStore& parameters)
    : parameters_(parameters), model_(ssm_model()) {}

wire::Error SsmApi::error(const Status& s) {
  switch (s.code()) {
    case StatusCode::kNotFound:
      return wire::modeled_error(model_, "ParameterNotFound", s.message());
    case StatusCode::kAlreadyExists:
      return wire::modeled_error(model_, "ParameterAlreadyExists", s.message());
    case StatusCode::kFailedPrecondition:
      return wire::modeled_error(model_, "ParameterVersionNotFound", s.message());
    case StatusCode::kInvalidArgument:
      return wire::common_error(wire::CommonError::kValidation, s.message());
    case StatusCode::kOk:
    case StatusCode::kIo:
    case StatusCode::kInternal:
      break;
  }
  return internal(s, "InternalServerError");
}

wire::Outcome<json::value> SsmApi::call(const wire::Call& call, const std::string& caller) {
  const std::string& op = call.operation->name;
  const json::object& in = call.input;
  if (op == "PutParameter") return put_parameter(in, caller);
  if (op == "GetParameter") return get_parameter(in);
  if (op == "GetParameters") return get_parameters(in);
  if (op == "DeleteParameter") return delete_parameter(in);
  if (op == "DeleteParameters") return delete_parameters(in);
  return wire::common_error(wire::CommonError::kValidation,
                            "Stageline does not implement SSM " + op +
                                " (it answers the Parameter Store: PutParameter, GetParameter, "
                                "GetParameters, DeleteParameter, DeleteParameters)");
}

wire::Outcome<json::value> SsmApi::put_parameter(const json::object& in,
                                                 const std::string& caller) {
  secrets::PutParameterRequest r;
  r.name = str(in, "Name");
  r.value = str(in, "Value");
  r.type = str(in, "Type");
  r.key_id = str(in, "KeyId");
  r.description = str(in, "Description");
  r.data_type = str(in, "DataType");
  r.overwrite = flag(in, "Overwrite");
  r.user = caller;
  if (in.contains("Tags") && r.overwrite)
    return wire::common_error(wire::CommonError::kValidation,
                              "Invalid request: tags and overwrite can't be used together. To "
                              "create a parameter with tags, please remove overwrite flag. To "
                              "update tags on an existing parameter, please use "
                              "AddTagsToResource or RemoveTagsFromResource.");
  if (const std::string tier = str(in, "Tier"); !tier.empty() && tier != "Standard")
    return wire::common_error(wire::CommonError::kValidation,
                              "Stageline keeps Standard parameters only (Tier " + tier + ")");
  auto version = parameters_.put(r);
  if (!version.ok()) return error(version.status());
  return json::value(json::object{{"Version", *version}, {"Tier", "Standard"}});
}

wire::Outcome<json::value> SsmApi::parameter(const std::string& text, bool with_decryption) {
  secrets::ParameterSelector sel = secrets::parse_parameter_selector(text);
  if (!sel.label.empty())
    return wire::modeled_error(model_, "ParameterVersionNotFound",
                               "Stageline does not support parameter labels (" + text + ")");
  auto p = parameters_.get(sel.name, sel.version, with_decryption);
  if (!p.ok()) return error(p.status());
  json::object o{{"Name", p->name},
                 {"Type", p->type},
                 {"Value", p->value},
                 {"Version", p->version},
                 {"LastModifiedDate", seconds(p->last_modified_ms)},
                 {"ARN", p->arn},
                 {"DataType", p->data_type}};
  if (sel.version) o["Selector"] = ":" + std::to_string(*sel.version);
  return json::value(std::move(o));
}

wire::Outcome<json::value> SsmApi::get_parameter(const json::object& in) {
  auto p = parameter(str(in, "Name"), flag(in, "WithDecryption"));
  if (!p.ok()) return p.error();
  return json::value(json::object{{"Parameter", std::move(*p)}});
}

wire::Outcome<json::value> SsmApi::get_parameters(const json::object& in) {
  json::array found, invalid;
  const bool decrypt = flag(in, "WithDecryption");
  for (const json::value& v : in.at("Names").as_array()) {
    const std::string name(v.as_string());
    auto p = parameter(name, decrypt);
    if (p.ok()) {
      found.push_back(std::move(*p));
    } else if (p.error().type == "ParameterNotFound" ||
               p.error().type == "ParameterVersionNotFound" ||
               p.error().type == "ValidationException") {
      invalid.push_back(json::value(name));
    } else {
      return p.error();
    }
  }
  return json::value(
      json::object{{"Parameters", std::move(found)}, {"InvalidParameters", std::move(invalid)}});
}

wire::Outcome<json::value> SsmApi::delete_parameter(const json::object& in) {
  if (Status s = parameters_.remove(str(in, "Name")); !s.ok()) return error(s);
  return json::value(json::object{});
}

wire::Outcome<json::value> SsmApi::delete_parameters(const json::object& in) {
  json::array deleted, invalid;
  for (const json::value& v : in.at("Names").as_array()) {
    const std::string name(v.as_string());
    Status s = parameters_.remove(name);
    if (s.ok())
      deleted.push_back(json::value(name));
    else if (s.code() == StatusCode::kNotFound)
      invalid.push_back(json::value(name));
    else
      return error(s);
  }
  return json::value(json::object{{"DeletedParameters", std::move(deleted)},
                                  {"InvalidParameters", std::move(invalid)}});
}

// ---- Secrets Manager -----------------------------------------------------------

SecretsManagerApi::SecretsManagerApi(secrets::SecretStore& secrets, Options options)
    : secrets_(secrets), options_(options), model_(secretsmanager_model()) {
  STAGELINE_CHECK(options_.page_size >= 1);
}

wire::Error SecretsManagerApi::error(const Status& s) {
  switch (s.code()) {
    case StatusCode::kNotFound:
      return wire::modeled_error(model_, "ResourceNotFoundException", s.message());
    case StatusCode::kAlreadyExists:
      return wire::modeled_error(model_, "ResourceExistsException", s.message());
    case StatusCode::kFailedPrecondition:
      return wire::modeled_error(model_, "InvalidRequestException", s.message());
    case StatusCode::kInvalidArgument:
      return wire::modeled_error(model_, "InvalidParameterException", s.message());
    case StatusCode::kOk:
    case StatusCode::kIo:
    case StatusCode::kInternal:
      break;
  }
  return internal(s, "InternalServiceError");
}

wire::Outcome<json::value> SecretsManagerApi::call(const wire::Call& call) {
  const std::string& op = call.operation->name;
  const json::object& in = call.input;
  if (op == "CreateSecret") return create_secret(in);
  if (op == "PutSecretValue") return put_secret_value(in);
  if (op == "GetSecretValue") return get_secret_value(in);
  if (op == "DeleteSecret") return delete_secret(in);
  if (op == "ListSecrets") return list_secrets(in);
  if (op == "DescribeSecret") return describe_secret(in);
  if (op == "RestoreSecret") return restore_secret(in);
  return wire::modeled_error(model_, "InvalidRequestException",
                             "Stageline does not implement Secrets Manager " + op +
                                 " (it answers CreateSecret, PutSecretValue, GetSecretValue, "
                                 "DeleteSecret, ListSecrets, DescribeSecret, RestoreSecret)");
}

namespace {

// SecretString / SecretBinary (base64 on the wire) of a request.
Result<secrets::SecretPayload> payload_of(const json::object& in) {
  secrets::SecretPayload p;
  if (const json::value* s = in.if_contains("SecretString"); s && s->is_string())
    p.string_value = std::string(s->as_string());
  if (const json::value* b = in.if_contains("SecretBinary"); b && b->is_string()) {
    auto bytes = secrets::base64_decode(b->as_string());
    if (!bytes.ok()) return Status::invalid("SecretBinary: " + bytes.status().message());
    p.binary_value = std::move(*bytes);
  }
  return p;
}

}  // namespace

wire::Outcome<json::value> SecretsManagerApi::create_secret(const json::object& in) {
  if (in.contains("AddReplicaRegions"))
    return wire::modeled_error(model_, "InvalidRequestException",
                               "Stageline does not replicate secrets (AddReplicaRegions)");
  secrets::CreateSecretRequest r;
  r.name = str(in, "Name");
  r.description = str(in, "Description");
  r.kms_key_id = str(in, "KmsKeyId");
  r.client_request_token = str(in, "ClientRequestToken");
  auto payload = payload_of(in);
  if (!payload.ok()) return error(payload.status());
  r.payload = std::move(*payload);
  if (const json::value* tags = in.if_contains("Tags"); tags && tags->is_array())
    for (const json::value& t : tags->as_array())
      r.tags.emplace_back(str(t.as_object(), "Key"), str(t.as_object(), "Value"));
  auto made = secrets_.create(r);
  if (!made.ok()) return error(made.status());
  json::object out{{"ARN", made->arn}, {"Name", made->name}};
  if (!made->version_id.empty()) out["VersionId"] = made->version_id;
  return json::value(std::move(out));
}

wire::Outcome<json::value> SecretsManagerApi::put_secret_value(const json::object& in) {
  secrets::PutSecretValueRequest r;
  r.secret_id = str(in, "SecretId");
  r.client_request_token = str(in, "ClientRequestToken");
  auto payload = payload_of(in);
  if (!payload.ok()) return error(payload.status());
  r.payload = std::move(*payload);
  if (const json::value* stages = in.if_contains("VersionStages"); stages && stages->is_array())
    for (const json::value& s : stages->as_array()) r.stages.emplace_back(s.as_string());
  auto put = secrets_.put_value(r);
  if (!put.ok()) return error(put.status());
  return json::value(json::object{{"ARN", put->arn},
                                  {"Name", put->name},
                                  {"VersionId", put->version_id},
                                  {"VersionStages", stages_json(put->stages)}});
}

wire::Outcome<json::value> SecretsManagerApi::get_secret_value(const json::object& in) {
  auto v = secrets_.get_value(str(in, "SecretId"), str(in, "VersionId"), str(in, "VersionStage"));
  if (!v.ok()) return error(v.status());
  json::object out{{"ARN", v->arn},
                   {"Name", v->name},
                   {"VersionId", v->version_id},
                   {"VersionStages", stages_json(v->stages)},
                   {"CreatedDate", seconds(v->created_ms)}};
  if (v->payload.string_value) out["SecretString"] = *v->payload.string_value;
  if (v->payload.binary_value)
    out["SecretBinary"] = secrets::base64_encode(*v->payload.binary_value);
  return json::value(std::move(out));
}

wire::Outcome<json::value> SecretsManagerApi::delete_secret(const json::object& in) {
  auto removed = secrets_.remove(str(in, "SecretId"), integer(in, "RecoveryWindowInDays"),
                                 flag(in, "ForceDeleteWithoutRecovery"));
  if (!removed.ok()) return error(removed.status());
  return json::value(json::object{{"ARN", removed->arn},
                                  {"Name", removed->name},
                                  {"DeletionDate", seconds(removed->deleted_ms.value_or(0))}});
}

wire::Outcome<json::value> SecretsManagerApi::list_secrets(const json::object& in) {
  auto all = secrets_.list(flag(in, "IncludePlannedDeletion"));
  if (!all.ok()) return error(all.status());
  std::vector<secrets::SecretInfo> rows;
  for (auto& i : *all) {
    bool keep = true;
    if (const json::value* filters = in.if_contains("Filters"); filters && filters->is_array()) {
      for (const json::value& f : filters->as_array()) {
        const std::string key = str(f.as_object(), "Key");
        if (key != "name" && key != "description" && key != "all")
          return wire::modeled_error(model_, "InvalidParameterException",
                                     "Stageline filters secrets by name, description or all, "
                                     "not by " +
                                         key);
        bool any = false;
        if (const json::value* values = f.as_object().if_contains("Values"))
          for (const json::value& v : values->as_array()) {
            const std::string want(v.as_string());
            const bool negate = want.starts_with("!");
            const std::string prefix = negate ? want.substr(1) : want;
            const bool hit =
                ((key == "name" || key == "all") && i.name.starts_with(prefix)) ||
                ((key == "description" || key == "all") && i.description.starts_with(prefix));
            any = any || (hit != negate);
          }
        keep = keep && any;
      }
    }
    if (keep) rows.push_back(std::move(i));
  }
  if (str(in, "SortOrder") == "desc") std::reverse(rows.begin(), rows.end());
  size_t offset = 0;
  if (const std::string token = str(in, "NextToken"); !token.empty()) {
    auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), offset);
    if (ec != std::errc() || end != token.data() + token.size())
      return wire::modeled_error(model_, "InvalidNextTokenException",
                                 "The NextToken value is invalid.");
  }
  const size_t limit = static_cast<size_t>(integer(in, "MaxResults").value_or(options_.page_size));
  json::array list;
  for (size_t i = offset; i < rows.size() && list.size() < limit; ++i) {
    json::object o = secret_entry(rows[i]);
    o["SecretVersionsToStages"] = versions_to_stages(rows[i]);
    list.push_back(std::move(o));
  }
  json::object out{{"SecretList", std::move(list)}};
  if (offset + limit < rows.size()) out["NextToken"] = std::to_string(offset + limit);
  return json::value(std::move(out));
}

wire::Outcome<json::value> SecretsManagerApi::describe_secret(const json::object& in) {
  auto info = secrets_.describe(str(in, "SecretId"));
  if (!info.ok()) return error(info.status());
  json::object o = secret_entry(*info);
  o["VersionIdsToStages"] = versions_to_stages(*info);
  return json::value(std::move(o));
}

wire::Outcome<json::value> SecretsManagerApi::restore_secret(const json::object& in) {
  auto info = secrets_.restore(str(in, "SecretId"));
  if (!info.ok()) return error(info.status());
  return json::value(json::object{{"ARN", info->arn}, {"Name", info->name}});
}

}  // namespace stageline::secretsapi
