#include "api/connections/connections_api.h"

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>

#include "base/strings.h"

namespace stageline::connections {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

constexpr const char* kConnectionKind = "connection";
constexpr const char* kHostKind = "host";
constexpr size_t kMaxTags = 200;
constexpr int64_t kDefaultPage = 100;

struct Arn {
  std::string service;  // codestar-connections | codeconnections
  std::string region;
  std::string account;
  std::string kind;  // connection | host
  std::string id;
};

// arn:<partition>:<service>:<region>:<account>:<kind>/<id>, or nullopt.
std::optional<Arn> parse_arn(std::string_view text) {
  std::vector<std::string> parts = split(text, ':');
  if (parts.size() != 6 || parts[0] != "arn" || !parts[1].starts_with("aws")) return std::nullopt;
  Arn arn{parts[2], parts[3], parts[4], "", ""};
  if (arn.service != "codestar-connections" && arn.service != "codeconnections")
    return std::nullopt;
  auto slash = parts[5].find('/');
  if (slash == std::string::npos) return std::nullopt;
  arn.kind = parts[5].substr(0, slash);
  arn.id = parts[5].substr(slash + 1);
  if (arn.id.empty() || arn.id.find('/') != std::string::npos) return std::nullopt;
  return arn;
}

std::string str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

json::array tags_of(const json::object& doc) {
  const json::value* v = doc.if_contains("Tags");
  return v && v->is_array() ? v->as_array() : json::array();
}

wire::Error internal(const Status& s) {
  wire::Error e = wire::common_error(wire::CommonError::kInternalFailure, "Internal failure");
  e.detail = s.message();
  return e;
}

wire::Error validation(std::string message) {
  return wire::common_error(wire::CommonError::kValidation, std::move(message));
}

// The connection's output shape: the document without Tags.
json::object connection_view(const json::object& doc) {
  json::object out;
  for (const char* key : {"ConnectionName", "ConnectionArn", "ProviderType", "OwnerAccountId",
                          "ConnectionStatus", "HostArn"})
    if (const json::value* v = doc.if_contains(key)) out[key] = *v;
  return out;
}

json::object host_view(const json::object& doc, bool with_arn) {
  json::object out;
  for (const char* key : {"Name", "HostArn", "ProviderType", "ProviderEndpoint", "VpcConfiguration",
                          "Status", "StatusMessage"}) {
    if (!with_arn && std::string_view(key) == "HostArn") continue;
    if (const json::value* v = doc.if_contains(key)) out[key] = *v;
  }
  return out;
}

std::string default_base(std::string_view provider_type) {
  if (provider_type == "GitHub") return "https://github.com";
  if (provider_type == "GitLab") return "https://gitlab.com";
  if (provider_type == "Bitbucket") return "https://bitbucket.org";
  return "";
}

bool valid_repository_id(std::string_view id) {
  if (id.empty() || id.size() > 1024) return false;
  std::vector<std::string> segments = split(id, '/');
  if (segments.size() < 2) return false;
  for (const auto& s : segments) {
    if (s.empty() || s == "." || s == "..") return false;
    for (char c : s) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '.' || c == '-';
      if (!ok) return false;
    }
  }
  return true;
}

}  // namespace

ConnectionsApi::ConnectionsApi(store::Store& store, ConnectionsOptions options)
    : store_(store), options_(std::move(options)), tokens_(options_.page_token_key) {
  STAGELINE_CHECK(options_.now_ms && options_.new_id);
}

wire::Outcome<json::value> ConnectionsApi::call(const wire::ServiceModel& model,
                                                const wire::Call& call) {
  const std::string& op = call.operation->name;
  const In& in = call.input;
  if (op == "CreateConnection") return create_connection(model, in);
  if (op == "GetConnection") return get_connection(model, in);
  if (op == "ListConnections") return list_connections(model, call);
  if (op == "DeleteConnection") return delete_connection(model, in);
  if (op == "CreateHost") return create_host(model, in);
  if (op == "GetHost") return get_host(model, in);
  if (op == "ListHosts") return list_hosts(model, call);
  if (op == "DeleteHost") return delete_host(model, in);
  if (op == "TagResource") return tag_resource(model, in);
  if (op == "UntagResource") return untag_resource(model, in);
  if (op == "ListTagsForResource") return list_tags(model, in);
  return validation("Stageline does not implement " + model.metadata().service_id + " " + op +
                    " (it answers the connection, host and tag operations; docs/sources.md)");
}

namespace {

// The stored document of the resource `arn` names, or the error to answer.
// `kind` restricts it to connections or hosts (empty: either).
struct Found {
  store::ResourceRecord record;
  json::object doc;
};

wire::Outcome<Found> find(store::Store& store, const ConnectionsOptions& options,
                          const wire::ServiceModel& model, const std::string& arn_text,
                          std::string_view kind) {
  auto not_found = [&] {
    return wire::modeled_error(model, "ResourceNotFoundException",
                               "Resource not found: " + arn_text);
  };
  auto arn = parse_arn(arn_text);
  if (!arn || arn->region != options.region || arn->account != options.account_id ||
      (arn->kind != kConnectionKind && arn->kind != kHostKind) ||
      (!kind.empty() && arn->kind != kind))
    return not_found();
  auto record = store.get_resource(kService, arn->kind, arn->id);
  if (record.status().code() == StatusCode::kNotFound) return not_found();
  if (!record.ok()) return internal(record.status());
  boost::system::error_code ec;
  json::value doc = json::parse(record->document_json, ec);
  if (ec || !doc.is_object())
    return internal(
        Status::internal("resource " + arn->kind + "/" + arn->id + " has a corrupt document"));
  return Found{std::move(*record), std::move(doc.as_object())};
}

}  // namespace

wire::Outcome<json::value> ConnectionsApi::create_connection(const wire::ServiceModel& model,
                                                             const In& in) {
  const std::string host_arn = str(in, "HostArn");
  std::string provider_type = str(in, "ProviderType");
  if (host_arn.empty() && provider_type.empty())
    return validation("Either ProviderType or HostArn must be specified");
  if (!host_arn.empty()) {
    auto host = find(store_, options_, model, host_arn, kHostKind);
    if (!host) return host.error();
    const std::string host_type = str(host->doc, "ProviderType");
    if (!provider_type.empty() && provider_type != host_type)
      return validation("ProviderType " + provider_type + " does not match the host's " +
                        host_type);
    provider_type = host_type;
  } else if (provider_type == "GitHubEnterpriseServer" || provider_type == "GitLabSelfManaged") {
    return validation("A connection of provider type " + provider_type +
                      " needs a HostArn (create the host with CreateHost first)");
  }
  const json::array tags = tags_of(in);
  if (tags.size() > kMaxTags)
    return wire::modeled_error(model, "LimitExceededException", "Tag limit exceeded");
  const std::string id = options_.new_id();
  const std::string arn = "arn:aws:" + model.metadata().endpoint_prefix + ":" + options_.region +
                          ":" + options_.account_id + ":connection/" + id;
  json::object doc{{"ConnectionName", str(in, "ConnectionName")},
                   {"ConnectionArn", arn},
                   {"ProviderType", provider_type},
                   {"OwnerAccountId", options_.account_id},
                   {"ConnectionStatus", "AVAILABLE"}};
  if (!host_arn.empty()) doc["HostArn"] = host_arn;
  doc["Tags"] = tags;
  const int64_t now = options_.now_ms();
  store::ResourceRecord record{kService, kConnectionKind, id, json::serialize(doc), now, now};
  if (Status s = store_.insert_resource(record); !s.ok()) return internal(s);
  json::object out{{"ConnectionArn", arn}};
  if (!tags.empty()) out["Tags"] = tags;
  return json::value(std::move(out));
}

wire::Outcome<json::value> ConnectionsApi::get_connection(const wire::ServiceModel& model,
                                                          const In& in) {
  auto found = find(store_, options_, model, str(in, "ConnectionArn"), kConnectionKind);
  if (!found) return found.error();
  return json::value(json::object{{"Connection", connection_view(found->doc)}});
}

wire::Outcome<json::value> ConnectionsApi::delete_connection(const wire::ServiceModel& model,
                                                             const In& in) {
  auto found = find(store_, options_, model, str(in, "ConnectionArn"), kConnectionKind);
  if (!found) return found.error();
  if (Status s = store_.delete_resource(kService, kConnectionKind, found->record.name); !s.ok())
    return internal(s);
  return json::value(json::object{});
}

wire::Outcome<json::value> ConnectionsApi::create_host(const wire::ServiceModel& model,
                                                       const In& in) {
  const std::string name = str(in, "Name");
  const json::array tags = tags_of(in);
  if (tags.size() > kMaxTags)
    return wire::modeled_error(model, "LimitExceededException", "Tag limit exceeded");
  // AWS's host ids are the name and 8 hex digits (host/My-Host-28aef605).
  std::string safe;
  for (char c : name) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    safe += ok ? c : '-';
  }
  std::string random = options_.new_id();
  std::erase(random, '-');
  const std::string id = safe + "-" + random.substr(0, 8);
  const std::string arn = "arn:aws:" + model.metadata().endpoint_prefix + ":" + options_.region +
                          ":" + options_.account_id + ":host/" + id;
  json::object doc{{"Name", name},
                   {"HostArn", arn},
                   {"ProviderType", str(in, "ProviderType")},
                   {"ProviderEndpoint", str(in, "ProviderEndpoint")},
                   {"Status", "AVAILABLE"}};
  if (const json::value* vpc = in.if_contains("VpcConfiguration")) doc["VpcConfiguration"] = *vpc;
  doc["Tags"] = tags;
  const int64_t now = options_.now_ms();
  store::ResourceRecord record{kService, kHostKind, id, json::serialize(doc), now, now};
  if (Status s = store_.insert_resource(record); !s.ok()) return internal(s);
  json::object out{{"HostArn", arn}};
  if (!tags.empty()) out["Tags"] = tags;
  return json::value(std::move(out));
}

wire::Outcome<json::value> ConnectionsApi::get_host(const wire::ServiceModel& model, const In& in) {
  auto found = find(store_, options_, model, str(in, "HostArn"), kHostKind);
  if (!found) return found.error();
  return json::value(host_view(found->doc, /*with_arn=*/false));
}

wire::Outcome<json::value> ConnectionsApi::delete_host(const wire::ServiceModel& model,
                                                       const In& in) {
  const std::string host_arn = str(in, "HostArn");
  auto found = find(store_, options_, model, host_arn, kHostKind);
  if (!found) return found.error();
  // A host still used by connections stays: their repositories would
  // resolve to nothing.
  int users = 0;
  std::string after;
  do {
    auto page = store_.list_resources(kService, kConnectionKind, 500, after);
    if (!page.ok()) return internal(page.status());
    for (const auto& r : page->items) {
      boost::system::error_code ec;
      json::value doc = json::parse(r.document_json, ec);
      if (!ec && doc.is_object() && str(doc.as_object(), "HostArn") == host_arn) ++users;
    }
    after = page->next_key;
  } while (!after.empty());
  if (users > 0)
    return wire::modeled_error(model, "ResourceUnavailableException",
                               "Host " + host_arn + " is used by " + std::to_string(users) +
                                   " connection(s); delete them first");
  if (Status s = store_.delete_resource(kService, kHostKind, found->record.name); !s.ok())
    return internal(s);
  return json::value(json::object{});
}

namespace {

// One page of resources of `kind` that `keep` accepts, resuming after the
// name a NextToken carries.
struct Listed {
  json::array items;
  std::string next_name;  // empty: no more
};

wire::Outcome<Listed> list_kind(store::Store& store, const wire::PageTokens& tokens,
                                const wire::Call& call, const std::string& kind,
                                const std::function<bool(const json::object&)>& keep,
                                const std::function<json::object(const json::object&)>& view,
                                const std::string& scope) {
  int64_t max = kDefaultPage;
  if (const json::value* v = call.input.if_contains("MaxResults"); v && v->is_int64())
    max = v->as_int64() > 0 ? v->as_int64() : kDefaultPage;
  std::string after;
  if (const json::value* t = call.input.if_contains("NextToken"); t && t->is_string()) {
    auto position = tokens.redeem(call.operation->name, scope, t->as_string());
    if (!position || !position->is_string()) return validation("Invalid NextToken");
    after = std::string(position->as_string());
  }
  Listed listed;
  while (true) {
    auto page = store.list_resources(kService, kind, 100, after);
    if (!page.ok()) return internal(page.status());
    for (const auto& r : page->items) {
      after = r.name;
      boost::system::error_code ec;
      json::value doc = json::parse(r.document_json, ec);
      if (ec || !doc.is_object() || !keep(doc.as_object())) continue;
      listed.items.push_back(view(doc.as_object()));
      if (static_cast<int64_t>(listed.items.size()) == max) {
        // More only if the store has anything after this one.
        auto rest = store.list_resources(kService, kind, 1, after);
        if (!rest.ok()) return internal(rest.status());
        if (!rest->items.empty()) listed.next_name = after;
        return listed;
      }
    }
    if (page->next_key.empty()) return listed;
  }
}

}  // namespace

wire::Outcome<json::value> ConnectionsApi::list_connections(const wire::ServiceModel&,
                                                            const wire::Call& call) {
  const std::string type = str(call.input, "ProviderTypeFilter");
  const std::string host = str(call.input, "HostArnFilter");
  auto listed = list_kind(
      store_, tokens_, call, kConnectionKind,
      [&](const json::object& d) {
        return (type.empty() || str(d, "ProviderType") == type) &&
               (host.empty() || str(d, "HostArn") == host);
      },
      connection_view, type + "|" + host);
  if (!listed) return listed.error();
  json::object out{{"Connections", std::move(listed->items)}};
  if (!listed->next_name.empty())
    out["NextToken"] =
        tokens_.issue(call.operation->name, type + "|" + host, json::value(listed->next_name));
  return json::value(std::move(out));
}

wire::Outcome<json::value> ConnectionsApi::list_hosts(const wire::ServiceModel&,
                                                      const wire::Call& call) {
  auto listed = list_kind(
      store_, tokens_, call, kHostKind, [](const json::object&) { return true; },
      [](const json::object& d) { return host_view(d, /*with_arn=*/true); }, "");
  if (!listed) return listed.error();
  json::object out{{"Hosts", std::move(listed->items)}};
  if (!listed->next_name.empty())
    out["NextToken"] = tokens_.issue(call.operation->name, "", json::value(listed->next_name));
  return json::value(std::move(out));
}

wire::Outcome<json::value> ConnectionsApi::tag_resource(const wire::ServiceModel& model,
                                                        const In& in) {
  auto found = find(store_, options_, model, str(in, "ResourceArn"), "");
  if (!found) return found.error();
  json::array tags = tags_of(found->doc);
  for (const json::value& t : tags_of(in)) {
    const std::string key = str(t.as_object(), "Key");
    auto same = std::find_if(tags.begin(), tags.end(), [&](const json::value& have) {
      return str(have.as_object(), "Key") == key;
    });
    if (same != tags.end())
      *same = t;
    else
      tags.push_back(t);
  }
  if (tags.size() > kMaxTags)
    return wire::modeled_error(model, "LimitExceededException",
                               "Tag limit exceeded for resource " + str(in, "ResourceArn"));
  found->doc["Tags"] = std::move(tags);
  found->record.document_json = json::serialize(found->doc);
  found->record.updated_ms = options_.now_ms();
  if (Status s = store_.update_resource(found->record); !s.ok()) return internal(s);
  return json::value(json::object{});
}

wire::Outcome<json::value> ConnectionsApi::untag_resource(const wire::ServiceModel& model,
                                                          const In& in) {
  auto found = find(store_, options_, model, str(in, "ResourceArn"), "");
  if (!found) return found.error();
  json::array tags = tags_of(found->doc);
  if (const json::value* keys = in.if_contains("TagKeys"); keys && keys->is_array()) {
    for (const json::value& k : keys->as_array()) {
      if (!k.is_string()) continue;
      auto end = std::remove_if(tags.begin(), tags.end(), [&](const json::value& have) {
        return str(have.as_object(), "Key") == k.as_string();
      });
      tags.erase(end, tags.end());
    }
  }
  found->doc["Tags"] = std::move(tags);
  found->record.document_json = json::serialize(found->doc);
  found->record.updated_ms = options_.now_ms();
  if (Status s = store_.update_resource(found->record); !s.ok()) return internal(s);
  return json::value(json::object{});
}

wire::Outcome<json::value> ConnectionsApi::list_tags(const wire::ServiceModel& model,
                                                     const In& in) {
  auto found = find(store_, options_, model, str(in, "ResourceArn"), "");
  if (!found) return found.error();
  return json::value(json::object{{"Tags", tags_of(found->doc)}});
}

Result<RepositoryLocation> ConnectionsApi::resolve(const std::string& connection_arn,
                                                   const std::string& full_repository_id) const {
  if (!valid_repository_id(full_repository_id))
    return Status::invalid("FullRepositoryId " + quote(full_repository_id) +
                           " is not of the form owner/repository");
  auto arn = parse_arn(connection_arn);
  if (!arn || arn->kind != kConnectionKind)
    return Status::invalid(quote(connection_arn) + " is not a connection ARN");
  auto not_found = Status::not_found("Connection " + connection_arn +
                                     " does not exist (aws codestar-connections list-connections)");
  if (arn->region != options_.region || arn->account != options_.account_id) return not_found;
  auto record = store_.get_resource(kService, kConnectionKind, arn->id);
  if (record.status().code() == StatusCode::kNotFound) return not_found;
  if (!record.ok()) return record.status();
  boost::system::error_code ec;
  json::value parsed = json::parse(record->document_json, ec);
  if (ec || !parsed.is_object())
    return Status::internal("connection " + arn->id + " has a corrupt document");
  const json::object& doc = parsed.as_object();
  RepositoryLocation location;
  location.provider_type = str(doc, "ProviderType");

  std::string base;
  for (const json::value& t : tags_of(doc))
    if (str(t.as_object(), "Key") == kBaseTag) base = str(t.as_object(), "Value");
  const std::string host_arn = str(doc, "HostArn");
  if (base.empty() && !host_arn.empty()) {
    auto host_id = parse_arn(host_arn);
    if (!host_id)
      return Status::not_found("the host " + host_arn + " of " + connection_arn + " is gone");
    auto host = store_.get_resource(kService, kHostKind, host_id->id);
    if (host.status().code() == StatusCode::kNotFound)
      return Status::not_found("the host " + host_arn + " of " + connection_arn + " is gone");
    if (!host.ok()) return host.status();
    json::value host_doc = json::parse(host->document_json, ec);
    if (ec || !host_doc.is_object())
      return Status::internal("host " + host_id->id + " has a corrupt document");
    base = str(host_doc.as_object(), "ProviderEndpoint");
  }
  if (base.empty()) base = default_base(location.provider_type);
  if (base.empty())
    return Status::invalid("connection " + connection_arn + " has no host and no " +
                           std::string(kBaseTag) + " tag, so its repositories are nowhere");
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  location.url = base + "/" + full_repository_id;
  // A directory of bare repositories usually names them owner/repo.git.
  const bool file_url = base.starts_with("file://");
  if (file_url || base.starts_with("/")) {
    const fs::path dir = file_url ? fs::path(location.url.substr(7)) : fs::path(location.url);
    std::error_code fs_ec;
    if (!fs::exists(dir, fs_ec) && fs::exists(dir.string() + ".git", fs_ec)) location.url += ".git";
  }
  return location;
}

}  // namespace stageline::connections
