#include "console/assets.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "base/temp_dir.h"

namespace stageline::console {
namespace {

std::string header(const http::Response& r, std::string_view name) {
  for (const auto& [n, v] : r.headers)
    if (n == name) return v;
  return "";
}

void write(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

TEST(ConsoleAssets, ContentTypesFollowTheExtension) {
  EXPECT_EQ(console_content_type("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(console_content_type("app.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(console_content_type("style.css"), "text/css; charset=utf-8");
  EXPECT_EQ(console_content_type("icons/ok.svg"), "image/svg+xml");
  EXPECT_EQ(console_content_type("blob"), "application/octet-stream");
}

TEST(ConsoleAssets, TheEmbeddedFilesAreWebsFilesByteForByte) {
  ASSERT_FALSE(Assets::embedded().empty()) << "web/ was not embedded";
  Assets embedded;
  for (const auto& raw : Assets::embedded()) {
    std::ifstream in(std::string(STAGELINE_SOURCE_DIR) + "/web/" + raw.path, std::ios::binary);
    std::ostringstream file;
    file << in.rdbuf();
    http::Response r = embedded.get(raw.path, "");
    EXPECT_EQ(r.status, 200) << raw.path;
    EXPECT_EQ(r.body, file.str()) << raw.path;
    EXPECT_EQ(header(r, "ETag"), etag_of(file.str())) << raw.path;
  }
  // The root is index.html.
  EXPECT_EQ(embedded.get("", "").status, 200);
  EXPECT_EQ(header(embedded.get("", ""), "Content-Type"), "text/html; charset=utf-8");
}

TEST(ConsoleAssets, AnswersNotModifiedWhenTheETagMatches) {
  TempDir dir("console-assets");
  write(dir.path() / "app.js", "console.log(1)\n");
  Assets assets(dir.path().string());
  http::Response first = assets.get("app.js", "");
  ASSERT_EQ(first.status, 200);
  const std::string etag = header(first, "ETag");
  EXPECT_EQ(header(first, "Cache-Control"), "no-cache");
  EXPECT_EQ(assets.get("app.js", etag).status, 304);
  EXPECT_TRUE(assets.get("app.js", etag).body.empty());
  EXPECT_EQ(assets.get("app.js", "\"other\", W/" + etag).status, 304);
  EXPECT_EQ(assets.get("app.js", "\"other\"").status, 200);
  // A changed file has a new ETag: the old one no longer matches.
  write(dir.path() / "app.js", "console.log(2)\n");
  http::Response changed = assets.get("app.js", etag);
  EXPECT_EQ(changed.status, 200);
  EXPECT_NE(header(changed, "ETag"), etag);
}

TEST(ConsoleAssets, RefusesPathsThatLeaveTheDirectory) {
  TempDir dir("console-assets");
  write(dir.path() / "web" / "index.html", "<p>hi</p>");
  write(dir.path() / "secret.txt", "no");
  Assets assets((dir.path() / "web").string());
  EXPECT_EQ(assets.get("index.html", "").status, 200);
  for (const char* path : {"../secret.txt", "/etc/passwd", "a/../../secret.txt", "./index.html",
                           "..", "a//b", "..\\secret.txt"})
    EXPECT_EQ(assets.get(path, "").status, 404) << path;
  EXPECT_EQ(assets.get(std::string_view("index.html\0x", 12), "").status, 404);
  EXPECT_EQ(assets.get("missing.js", "").status, 404);
}

}  // namespace
}  // namespace stageline::console
