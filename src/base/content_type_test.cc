#include "base/content_type.h"

#include <gtest/gtest.h>

namespace stageline {
namespace {

TEST(ContentType, ComesFromTheExtensionWhateverItsCase) {
  EXPECT_EQ(content_type_for("a/INDEX.HTML"), "text/html");
  EXPECT_EQ(content_type_for("app.js"), "text/javascript");
  EXPECT_EQ(content_type_for("logo.svg"), "image/svg+xml");
  EXPECT_EQ(content_type_for("site.webmanifest"), "application/manifest+json");
}

TEST(ContentType, NoKnownExtensionIsOctetStream) {
  EXPECT_EQ(content_type_for("README"), "application/octet-stream");
  EXPECT_EQ(content_type_for(".html"), "application/octet-stream") << "a dot file, no extension";
  EXPECT_EQ(content_type_for("dir.html/blob"), "application/octet-stream");
  EXPECT_EQ(content_type_for("a.tar.gz"), "application/octet-stream");
}

}  // namespace
}  // namespace stageline
