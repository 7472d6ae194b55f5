#include "base/files.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace stageline {
namespace {

namespace fs = std::filesystem;

TEST(Files, AFileWrittenWholeReadsBackWholeAndIsReplacedByTheNextWrite) {
  std::string tmpl = (fs::temp_directory_path() / "files-test-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  fs::path f = fs::path(tmpl) / "f";
  ASSERT_TRUE(write_file(f, std::string("a\0b\n", 4)).ok());
  EXPECT_EQ(read_file(f), std::string("a\0b\n", 4));
  ASSERT_TRUE(write_file(f, "c").ok());
  EXPECT_EQ(read_file(f), "c");
  EXPECT_EQ(read_file(fs::path(tmpl) / "missing"), std::nullopt);
  Status s = write_file(fs::path(tmpl) / "no" / "such" / "dir", "x");
  EXPECT_EQ(s.code(), StatusCode::kIo);
  EXPECT_NE(s.message().find("no/such/dir"), std::string::npos);
  fs::remove_all(tmpl);
}

}  // namespace
}  // namespace stageline
