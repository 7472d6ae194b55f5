// api/wire/pagination: opaque, tamper-evident nextToken values and page
// sizes bounded by the model.
//
// A token is base64url(payload) "." base64url(HMAC-SHA256(key, payload)),
// the payload being JSON {"o": operation, "s": scope, "p": position}. The
// position is whatever the handler needs to resume (e.g. the last pipeline
// name listed); the scope binds the token to the request it continues (e.g.
// the pipeline name of ListPipelineExecutions), so a token of one call is
// refused by another. Tokens do not expire and are not encrypted: positions
// must not be secret.
//
// Thread-safe (immutable after construction).
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/wire/errors.h"
#include "api/wire/model.h"

namespace stageline::wire {

class PageTokens {
 public:
  // REQUIRES: `key` has at least 16 bytes (the server keeps 32 random bytes
  // in its data directory, so tokens survive a restart).
  explicit PageTokens(std::string key);

  // REQUIRES: the token fits botocore's NextToken (at most 2048 characters),
  // i.e. a small position (CHECK).
  std::string issue(std::string_view operation, std::string_view scope,
                    const boost::json::value& position) const;

  // The position `token` carries, or InvalidNextTokenException (CodePipeline's
  // modeled error, HTTP 400) when it is malformed, was not issued with this
  // key, or was issued for another operation or scope.
  Outcome<boost::json::value> redeem(std::string_view operation, std::string_view scope,
                                     std::string_view token) const;

 private:
  std::string sign(std::string_view payload) const;

  std::string key_;
};

// The page size: the input's `member` (maxResults, or MaxResults for
// ListWebhooks) when present, else `fallback`, clamped to the bounds the
// model gives that member (1..1000 for ListPipelines' MaxPipelines).
// REQUIRES: the operation has an input shape with that integer member.
int64_t page_size(const Operation& operation, const boost::json::object& input,
                  std::string_view member, int64_t fallback);

// base64url without padding, and back (nullopt-like false on bad input).
std::string base64url_encode(std::string_view bytes);
bool base64url_decode(std::string_view text, std::string* out);

}  // namespace stageline::wire
