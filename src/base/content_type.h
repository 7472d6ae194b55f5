// base/content_type: the Content-Type of a file by its extension, for what
// Stageline serves or stores as files (the S3 deploy action's objects, the
// web console's files). Depends on the standard library only.
#pragma once

#include <string_view>

namespace stageline {

// "text/html" for "a/INDEX.HTML" (the extension compared without case),
// "application/octet-stream" for an extension not known or none.
std::string_view content_type_for(std::string_view path);

}  // namespace stageline
