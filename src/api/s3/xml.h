// api/s3/xml: the little XML S3's REST protocol needs: writing response
// documents (escaped text, elements in order) and reading the small request
// documents (CompleteMultipartUpload, Delete, VersioningConfiguration, ...)
// into a tree. Not a general XML library: no DTDs, no namespaces beyond
// ignoring the xmlns attribute, no processing instructions but the
// declaration, no CDATA. Pure functions; thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace stageline::api::s3::xml {

// Escapes &, <, >, " and ' for text and attribute values.
std::string escape(std::string_view text);

// "<name>escaped text</name>".
std::string element(std::string_view name, std::string_view text);

// One parsed element: its name (prefix stripped), its text (entities
// decoded, concatenated, whitespace kept), its child elements in order.
struct Node {
  std::string name;
  std::string text;
  std::vector<Node> children;

  // The first child called `name`, or nullptr.
  const Node* child(std::string_view name) const;
  // Every child called `name`.
  std::vector<const Node*> all(std::string_view name) const;
  // The text of the first child called `name`, or "" when there is none.
  std::string child_text(std::string_view name) const;
};

// Parses a whole document (an optional <?xml ...?> declaration, comments,
// one root element). Errors (kInvalidArgument) name the offset and what was
// expected; the S3 layer answers them with MalformedXML. Depth is limited to
// 32 and size to what the caller read.
Result<Node> parse(std::string_view document);

}  // namespace stageline::api::s3::xml
