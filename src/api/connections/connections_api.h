// api/connections: the CodeStar Connections (2019-12-01) and CodeConnections
// (2023-12-01) APIs, JSON 1.0, as the aws CLI and the SDKs call them:
// CreateConnection, GetConnection, ListConnections, DeleteConnection,
// CreateHost, GetHost, ListHosts, DeleteHost, TagResource, UntagResource,
// ListTagsForResource. Other operations answer ValidationException naming
// them. And, for the CodeStarSourceConnection provider (src/sources), where
// a connection's repository lives (resolve()).
//
// Both services share one set of resources (as in AWS, where CodeConnections
// is the new name of CodeStar Connections): a connection or host keeps the
// ARN of the service that created it (arn:aws:codestar-connections:... or
// arn:aws:codeconnections:...), and either API finds it by either ARN.
// Every connection and host is AVAILABLE at once (there is no OAuth
// hand-shake here).
//
// Where repositories live (docs/sources.md, "Connections"): the tag
// "stageline:repository-base" of the connection if set, else its host's
// ProviderEndpoint, else the provider's public site (https://github.com,
// https://gitlab.com, https://bitbucket.org). FullRepositoryId "owner/repo"
// resolves to <base>/owner/repo; for a local base (an absolute path or a
// file:// URL), <base>/owner/repo.git when only that exists.
//
// Store layout: resources rows ("connections", "connection", <uuid>) and
// ("connections", "host", <name>-<8 hex>), document_json as written by
// connections_api.cc (the output shapes' members plus "Tags").
//
// Depends on wire, store and base. Not on HTTP or SigV4: the server routes
// and authenticates, then calls call(). call() runs on the control thread;
// resolve() is thread-safe (store reads only).
#pragma once

#include <boost/json/value.hpp>
#include <functional>
#include <string>

#include "api/wire/errors.h"
#include "api/wire/pagination.h"
#include "api/wire/wire.h"
#include "store/store.h"

namespace stageline::connections {

inline constexpr const char* kService = "connections";  // resources.service
inline constexpr const char* kBaseTag = "stageline:repository-base";

struct ConnectionsOptions {
  std::string region = "us-east-1";
  std::string account_id = "111122223333";
  std::function<int64_t()> now_ms;
  // HMAC key for NextToken values (wire::PageTokens); >= 16 bytes.
  std::string page_token_key;
  // Makes the random part of new ARNs (a lower-case UUID).
  std::function<std::string()> new_id;
};

// Where a connection's repository is.
struct RepositoryLocation {
  std::string url;            // for libgit2: a path, file://, http(s):// or ssh URL
  std::string provider_type;  // the connection's ProviderType
};

// Borrows the store, which must outlive it.
class ConnectionsApi {
 public:
  // REQUIRES: options.now_ms and options.new_id are set; the page token key
  // has >= 16 bytes.
  ConnectionsApi(store::Store& store, ConnectionsOptions options);

  // One validated call of either model (codestar-connections or
  // codeconnections): the model's endpoint prefix is the service of the
  // ARNs it creates, and its exception shapes are the errors. Returns the
  // output value or the error to answer with (ResourceNotFoundException,
  // ResourceUnavailableException, LimitExceededException,
  // ValidationException; InternalFailure with the cause in detail when the
  // store fails). Never throws.
  wire::Outcome<boost::json::value> call(const wire::ServiceModel& model, const wire::Call& call);

  // The repository `full_repository_id` ("owner/repo", segments of
  // [A-Za-z0-9._-], not "." or "..") of connection `connection_arn` (either
  // service's ARN). kNotFound when there is no such connection (or its host
  // is gone), kInvalidArgument for a malformed repository id or ARN, kIo when
  // the store fails.
  Result<RepositoryLocation> resolve(const std::string& connection_arn,
                                     const std::string& full_repository_id) const;

 private:
  using Out = wire::Outcome<boost::json::value>;
  using In = boost::json::object;

  Out create_connection(const wire::ServiceModel& model, const In& in);
  Out get_connection(const wire::ServiceModel& model, const In& in);
  Out list_connections(const wire::ServiceModel& model, const wire::Call& call);
  Out delete_connection(const wire::ServiceModel& model, const In& in);
  Out create_host(const wire::ServiceModel& model, const In& in);
  Out get_host(const wire::ServiceModel& model, const In& in);
  Out list_hosts(const wire::ServiceModel& model, const wire::Call& call);
  Out delete_host(const wire::ServiceModel& model, const In& in);
  Out tag_resource(const wire::ServiceModel& model, const In& in);
  Out untag_resource(const wire::ServiceModel& model, const In& in);
  Out list_tags(const wire::ServiceModel& model, const In& in);

  store::Store& store_;
  ConnectionsOptions options_;
  wire::PageTokens tokens_;
};

}  // namespace stageline::connections
