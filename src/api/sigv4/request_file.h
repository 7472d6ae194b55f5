// api/sigv4/request_file: a captured HTTP request stored as JSON, for the
// tests and for sigv4_check (not part of stageline_sigv4: it needs
// Boost.JSON). The format, written by botocore_vectors.py and by
// tests/e2e/sigv4_aws_cli.py:
//   {"method": "POST", "target": "/?a=b", "headers": [["Host", "..."], ...],
//    "body_base64": "e30="}
// Other members are ignored.
#pragma once

#include <string>
#include <string_view>

#include "api/sigv4/sigv4.h"
#include "base/status.h"

namespace stageline::api::sigv4 {

// Decodes standard base64 ('=' padding optional). kInvalidArgument on any
// other character.
Result<std::string> base64_decode(std::string_view in);

// Reads a request from a parsed-JSON object given as text. Errors name the
// member that is missing or of the wrong type.
Result<HttpRequest> request_from_json(std::string_view json_text);

// Reads the whole file at `path`.
Result<std::string> read_text_file(const std::string& path);

}  // namespace stageline::api::sigv4
