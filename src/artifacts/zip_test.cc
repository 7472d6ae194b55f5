#include "artifacts/zip.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <zip.h>

#include <cstdlib>

#include "artifacts/test_util.h"

namespace stageline::artifacts {
namespace {

namespace fs = std::filesystem;
using testing::count_entries;
using testing::read_file;
using testing::snapshot;
using testing::TempDir;
using testing::Tree;
using testing::write_file;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// One entry of a hand-made archive. `mode` includes the file type bits.
struct Crafted {
  std::string name;
  std::string content;
  mode_t mode = S_IFREG | 0644;
  bool deflate = false;
};

// Writes an archive exactly as described, hostile names included: libzip
// stores whatever name it is given.
void craft_zip(const fs::path& file, const std::vector<Crafted>& entries) {
  int err = 0;
  zip_t* za = zip_open(file.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  ASSERT_NE(za, nullptr) << err;
  for (const auto& e : entries) {
    zip_source_t* src = zip_source_buffer(za, e.content.data(), e.content.size(), 0);
    ASSERT_NE(src, nullptr);
    zip_int64_t index = zip_file_add(za, e.name.c_str(), src, ZIP_FL_ENC_RAW);
    ASSERT_GE(index, 0) << e.name << ": " << zip_strerror(za);
    auto idx = static_cast<zip_uint64_t>(index);
    ASSERT_EQ(zip_set_file_compression(za, idx, e.deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0), 0);
    ASSERT_EQ(zip_file_set_external_attributes(za, idx, 0, ZIP_OPSYS_UNIX,
                                               static_cast<zip_uint32_t>(e.mode) << 16),
              0);
  }
  ASSERT_EQ(zip_close(za), 0) << zip_strerror(za);
}

Crafted symlink(const std::string& name, const std::string& target) {
  return {name, target, S_IFLNK | 0777};
}

struct Listed {
  std::string name;
  zip_int32_t method;
  mode_t mode;
};

std::vector<Listed> list_zip(const fs::path& file) {
  std::vector<Listed> out;
  int err = 0;
  zip_t* za = zip_open(file.c_str(), ZIP_RDONLY, &err);
  EXPECT_NE(za, nullptr);
  if (za == nullptr) return out;
  for (zip_int64_t i = 0; i < zip_get_num_entries(za, 0); ++i) {
    zip_stat_t st;
    zip_stat_index(za, static_cast<zip_uint64_t>(i), 0, &st);
    zip_uint8_t opsys;
    zip_uint32_t attr;
    zip_file_get_external_attributes(za, static_cast<zip_uint64_t>(i), 0, &opsys, &attr);
    out.push_back(
        {st.name, static_cast<zip_int32_t>(st.comp_method), static_cast<mode_t>(attr >> 16)});
  }
  zip_discard(za);
  return out;
}

std::vector<std::string> names_of(const std::vector<Listed>& listed) {
  std::vector<std::string> out;
  for (const auto& l : listed) out.push_back(l.name);
  return out;
}

class ZipTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_ / "outside");
    fs::create_directories(dir_ / "work");
  }

  // Extracts `entries` into work/target (missing beforehand) and expects a
  // refusal that names `entry`, with nothing left anywhere.
  void expect_refused(const std::vector<Crafted>& entries, const std::string& entry,
                      const std::string& why) {
    craft_zip(dir_ / "evil.zip", entries);
    auto result = extract_zip(dir_ / "evil.zip", dir_ / "work" / "target", {});
    ASSERT_FALSE(result.ok()) << "extracted an archive with " << entry;
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument) << result.status().message();
    EXPECT_TRUE(contains(result.status().message(), "entry '" + entry + "'"))
        << result.status().message();
    EXPECT_TRUE(contains(result.status().message(), why)) << result.status().message();
    EXPECT_EQ(count_entries(dir_ / "outside"), 0u);
    EXPECT_EQ(count_entries(dir_ / "work"), 0u) << "the target or a sibling was left behind";
    EXPECT_FALSE(fs::exists(dir_ / "x"));
  }

  TempDir dir_;
};

void make_source_tree(const fs::path& src) {
  write_file(src / "README.txt", "read me\n");
  write_file(src / "bin" / "run.sh", "#!/bin/sh\necho hi\n", 0755);
  write_file(src / "src" / "deep" / "er" / "main.c", "int main() { return 0; }\n");
  write_file(src / "src" / "a-b.c", "/* sorts before src/deep */\n");
  write_file(src / "dist" / "app.js", "console.log(1)\n");
  write_file(src / "dist" / "lib" / "util.js", "module.exports = {}\n");
  fs::create_directories(src / "empty" / "dir");
  fs::create_symlink("bin/run.sh", src / "latest");
  fs::create_symlink("src", src / "srclink");
  fs::create_symlink("../bin/run.sh", src / "dist" / "run");
}

TEST_F(ZipTest, RoundTripPreservesTheTreeModesAndSymlinks) {
  make_source_tree(dir_ / "src");
  auto created = create_zip(dir_ / "src", dir_ / "a.zip", {"**/*", "**/"});
  ASSERT_TRUE(created.ok()) << created.status().message();
  EXPECT_EQ(created->files, 6u);
  EXPECT_EQ(created->symlinks, 3u);
  EXPECT_TRUE(created->skipped.empty());

  // Another implementation agrees the archive is sound.
  std::string check = "unzip -tq '" + (dir_ / "a.zip").string() + "' >/dev/null";
  EXPECT_EQ(std::system(check.c_str()), 0) << check << " failed (is the unzip package installed?)";

  auto extracted = extract_zip(dir_ / "a.zip", dir_ / "out", {});
  ASSERT_TRUE(extracted.ok()) << extracted.status().message();
  EXPECT_EQ(extracted->files, 6u);
  EXPECT_EQ(extracted->symlinks, 3u);
  Tree before = snapshot(dir_ / "src"), after = snapshot(dir_ / "out");
  EXPECT_EQ(before, after);
  EXPECT_EQ(after["bin/run.sh"], "f x #!/bin/sh\necho hi\n");
  EXPECT_EQ(after["latest"], "l bin/run.sh");
  EXPECT_EQ(after["empty/dir"], "d");
}

TEST_F(ZipTest, EntriesAreInByteOrderDeflatedAndCarryUnixModes) {
  make_source_tree(dir_ / "src");
  ASSERT_TRUE(create_zip(dir_ / "src", dir_ / "a.zip", {"**/*"}).ok());
  auto listed = list_zip(dir_ / "a.zip");
  std::vector<std::string> names = names_of(listed);
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(names, (std::vector<std::string>{"README.txt", "bin/run.sh", "dist/app.js",
                                             "dist/lib/util.js", "dist/run", "latest", "src/a-b.c",
                                             "src/deep/er/main.c", "srclink"}));
  for (const auto& l : listed) {
    if (S_ISLNK(l.mode)) {
      EXPECT_EQ(l.method, ZIP_CM_STORE) << l.name;
    } else {
      EXPECT_EQ(l.method, ZIP_CM_DEFLATE) << l.name;
      EXPECT_TRUE(S_ISREG(l.mode)) << l.name;
    }
  }
  EXPECT_EQ(listed[1].mode & 0777, 0755u);  // bin/run.sh
  EXPECT_EQ(listed[0].mode & 0777, 0644u);

  // The same tree packs to the same entries in the same order every time.
  ASSERT_TRUE(create_zip(dir_ / "src", dir_ / "b.zip", {"**/*"}).ok());
  EXPECT_EQ(names_of(list_zip(dir_ / "b.zip")), names);
}

TEST_F(ZipTest, GlobsSelectTheRightFiles) {
  make_source_tree(dir_ / "src");
  auto check = [&](const std::vector<std::string>& globs, const std::vector<std::string>& want) {
    auto created = create_zip(dir_ / "src", dir_ / "g.zip", globs);
    ASSERT_TRUE(created.ok()) << created.status().message();
    EXPECT_EQ(names_of(list_zip(dir_ / "g.zip")), want) << ::testing::PrintToString(globs);
  };
  check({"*.txt"}, {"README.txt"});
  check({"dist/**/*"}, {"dist/app.js", "dist/lib/util.js", "dist/run"});
  check({"dist/*", "bin/*"}, {"bin/run.sh", "dist/app.js", "dist/run"});
  check({"**/*.c"}, {"src/a-b.c", "src/deep/er/main.c"});
  check({"**/"}, {"bin/", "bin/run.sh", "dist/", "dist/app.js", "dist/lib/", "dist/lib/util.js",
                  "dist/run", "empty/", "empty/dir/", "src/", "src/a-b.c", "src/deep/",
                  "src/deep/er/", "src/deep/er/main.c"});
  check({"dist/"}, {"dist/", "dist/app.js", "dist/lib/", "dist/lib/util.js", "dist/run"});
  check({"{bin,dist}/*.{sh,js}"}, {"bin/run.sh", "dist/app.js"});

  auto none = create_zip(dir_ / "src", dir_ / "n.zip", {"*.java"});
  EXPECT_EQ(none.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(contains(none.status().message(), "no file matches")) << none.status().message();
  EXPECT_EQ(create_zip(dir_ / "src", dir_ / "n.zip", {"[bad"}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(create_zip(dir_ / "missing", dir_ / "n.zip", {"**/*"}).status().code(),
            StatusCode::kNotFound);
}

TEST_F(ZipTest, SymlinksLeavingTheTreeAreSkippedAndReported) {
  fs::path src = dir_ / "src";
  write_file(src / "a.txt", "a");
  write_file(dir_ / "outside" / "secret", "s");
  fs::create_symlink("/etc/passwd", src / "passwd");
  fs::create_symlink("../outside/secret", src / "up");
  fs::create_symlink(".", src / "self");
  fs::create_symlink("self/../outside/secret", src / "sneaky");  // escapes only through "self"
  fs::create_symlink((src / "a.txt").string(), src / "absolute-inside");
  auto created = create_zip(src, dir_ / "a.zip", {"**/*"});
  ASSERT_TRUE(created.ok()) << created.status().message();
  EXPECT_EQ(created->skipped.size(), 3u) << ::testing::PrintToString(created->skipped);
  EXPECT_EQ(names_of(list_zip(dir_ / "a.zip")),
            (std::vector<std::string>{"a.txt", "absolute-inside", "self"}));

  auto extracted = extract_zip(dir_ / "a.zip", dir_ / "out", {});
  ASSERT_TRUE(extracted.ok()) << extracted.status().message();
  EXPECT_EQ(fs::read_symlink(dir_ / "out" / "absolute-inside"), "a.txt");
  EXPECT_EQ(read_file(dir_ / "out" / "absolute-inside"), "a");
}

TEST_F(ZipTest, PathsWithDotDotAreRefused) {
  expect_refused({{"ok.txt", "fine"}, {"../x", "evil"}}, "../x", "'..'");
  expect_refused({{"a/../../x", "evil"}}, "a/../../x", "'..'");
  expect_refused({{"a/b/../../../x", "evil"}}, "a/b/../../../x", "'..'");
}

TEST_F(ZipTest, AbsolutePathsAreRefused) {
  std::string absolute = (dir_ / "outside" / "x").string();
  expect_refused({{absolute, "evil"}}, absolute, "absolute");
  EXPECT_FALSE(fs::exists(absolute));
  expect_refused({{"/etc/stageline-zip-slip-test", "evil"}}, "/etc/stageline-zip-slip-test",
                 "absolute");
  EXPECT_FALSE(fs::exists("/etc/stageline-zip-slip-test"));
}

TEST_F(ZipTest, ASymlinkOutOfTheTargetAndAFileWrittenThroughItAreRefused) {
  std::string outside = (dir_ / "outside").string();
  expect_refused({symlink("l", outside), {"l/passwd", "evil"}}, "l", "absolute");
  expect_refused({symlink("l", "/etc"), {"l/passwd", "evil"}}, "l", "absolute");
  // Even when the link itself stays inside, nothing is written through it.
  expect_refused({{"sub/keep", "k"}, symlink("l", "sub"), {"l/passwd", "evil"}}, "l/passwd",
                 "through the symlink entry 'l'");
  // Order does not matter: the file first, then the link it would hide under.
  expect_refused({{"l/passwd", "evil"}, symlink("l", "sub")}, "l/passwd",
                 "through the symlink entry 'l'");
}

TEST_F(ZipTest, SymlinksToDotDotAreRefused) {
  expect_refused({symlink("up", "..")}, "up", "outside the target");
  expect_refused({symlink("a/b/up", "../../../outside")}, "a/b/up", "outside the target");
  // Each link stays inside on its own; together they leave: a -> b/.. with b -> "."
  // is the target's parent. Only the check on the finished tree sees it.
  expect_refused({symlink("a", "b/.."), symlink("b", ".")}, "a", "resolves outside");
  expect_refused({symlink("b", "."), symlink("c", "b/b/b/.."), {"d/x", "x"}}, "c",
                 "resolves outside");
}

TEST_F(ZipTest, OtherHostileEntriesAreRefused) {
  expect_refused({{"a\\..\\..\\x", "evil"}}, "a\\..\\..\\x", "'\\'");
  // libzip will not write two entries of one name: rename the second in the bytes.
  craft_zip(dir_ / "dup.zip", {{"dup-AAAA", "one"}, {"dup-BBBB", "two"}});
  std::string bytes = read_file(dir_ / "dup.zip");
  for (size_t at; (at = bytes.find("dup-BBBB")) != std::string::npos;)
    bytes.replace(at, 8, "dup-AAAA");
  write_file(dir_ / "dup.zip", bytes);
  auto dup = extract_zip(dir_ / "dup.zip", dir_ / "work" / "target", {});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(contains(dup.status().message(), "dup-AAAA")) << dup.status().message();
  EXPECT_EQ(count_entries(dir_ / "work"), 0u);
  expect_refused({{"fifo", "", S_IFIFO | 0644}}, "fifo", "a fifo");
  expect_refused({{"dev", "", S_IFCHR | 0644}}, "dev", "a character device");
  expect_refused({{"f", "file"}, {"f/under", "x"}}, "f/under", "which is a file entry");
  expect_refused({{"a//b", "x"}}, "a//b", "empty segment");
}

TEST_F(ZipTest, FailingAfterWritingRemovesEverythingFromAnExistingTarget) {
  fs::create_directories(dir_ / "work" / "target");
  craft_zip(dir_ / "evil.zip", {{"a/file", "content"}, symlink("x", "y/.."), symlink("y", ".")});
  auto result = extract_zip(dir_ / "evil.zip", dir_ / "work" / "target", {});
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(contains(result.status().message(), "entry 'x'")) << result.status().message();
  EXPECT_TRUE(fs::is_directory(dir_ / "work" / "target"));
  EXPECT_EQ(count_entries(dir_ / "work" / "target"), 0u);
}

TEST_F(ZipTest, ATargetThatIsNotEmptyIsRefusedAndLeftAlone) {
  craft_zip(dir_ / "a.zip", {{"a", "new"}});
  write_file(dir_ / "work" / "target" / "a", "old");
  auto result = extract_zip(dir_ / "a.zip", dir_ / "work" / "target", {});
  EXPECT_EQ(result.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(read_file(dir_ / "work" / "target" / "a"), "old");
}

TEST_F(ZipTest, OnlyExecBitsAreRestored) {
  craft_zip(dir_ / "a.zip", {{"setuid", "x", S_IFREG | 04777}, {"private", "x", S_IFREG | 0600}});
  ASSERT_TRUE(extract_zip(dir_ / "a.zip", dir_ / "out", {}).ok());
  struct stat st;
  ASSERT_EQ(::stat((dir_ / "out" / "setuid").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  ASSERT_EQ(::stat((dir_ / "out" / "private").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
}

TEST_F(ZipTest, ZipBombLimitsStopExtraction) {
  std::string zeros(4 << 20, '\0');
  craft_zip(dir_ / "bomb.zip", {{"zeros", zeros, S_IFREG | 0644, /*deflate=*/true}});
  auto ratio = extract_zip(dir_ / "bomb.zip", dir_ / "work" / "t1", {});
  ASSERT_FALSE(ratio.ok());
  EXPECT_TRUE(contains(ratio.status().message(), "compression ratio")) << ratio.status().message();
  EXPECT_FALSE(fs::exists(dir_ / "work" / "t1"));

  ExtractLimits lenient;
  lenient.max_compression_ratio = 2000;
  ASSERT_TRUE(extract_zip(dir_ / "bomb.zip", dir_ / "work" / "t2", lenient).ok());
  EXPECT_EQ(fs::file_size(dir_ / "work" / "t2" / "zeros"), zeros.size());

  ExtractLimits small_total = lenient;
  small_total.max_total_bytes = 1 << 20;
  auto total = extract_zip(dir_ / "bomb.zip", dir_ / "work" / "t3", small_total);
  ASSERT_FALSE(total.ok());
  EXPECT_TRUE(contains(total.status().message(), "over the limit of 1048576 bytes"))
      << total.status().message();

  craft_zip(dir_ / "many.zip", {{"a", "1"}, {"b", "2"}, {"c", "3"}});
  ExtractLimits few;
  few.max_entries = 2;
  auto count = extract_zip(dir_ / "many.zip", dir_ / "work" / "t4", few);
  ASSERT_FALSE(count.ok());
  EXPECT_TRUE(contains(count.status().message(), "3 entries; the limit is 2"))
      << count.status().message();
}

void put_le32(std::string& bytes, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) bytes[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

TEST_F(ZipTest, AnEntryThatInflatesBeyondItsDeclaredSizeIsRefused) {
  // Declared 100 bytes (local and central headers agree), inflates to 100 000.
  craft_zip(dir_ / "liar.zip", {{"liar", std::string(100000, 'A'), S_IFREG | 0644, true}});
  std::string bytes = read_file(dir_ / "liar.zip");
  ASSERT_EQ(bytes.compare(0, 4, "PK\x03\x04"), 0);
  put_le32(bytes, 22, 100);  // local header: uncompressed size
  size_t central = bytes.find("PK\x01\x02");
  ASSERT_NE(central, std::string::npos);
  put_le32(bytes, central + 24, 100);  // central directory: uncompressed size
  write_file(dir_ / "liar.zip", bytes);
  auto result = extract_zip(dir_ / "liar.zip", dir_ / "work" / "t", {});
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(contains(result.status().message(), "entry 'liar'")) << result.status().message();
  EXPECT_TRUE(contains(result.status().message(), "more data than its declared size"))
      << result.status().message();
  EXPECT_FALSE(fs::exists(dir_ / "work" / "t"));
}

TEST_F(ZipTest, ACorruptArchiveGivesAClearStatus) {
  write_file(dir_ / "garbage.zip", "this is not a zip file at all, just text");
  auto garbage = extract_zip(dir_ / "garbage.zip", dir_ / "work" / "t", {});
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(contains(garbage.status().message(), "not a readable zip archive"))
      << garbage.status().message();

  // A flipped byte in a stored file's data fails its CRC, naming the entry.
  std::string payload(1000, 'A');
  craft_zip(dir_ / "good.zip", {{"payload", payload}});
  std::string bytes = read_file(dir_ / "good.zip");
  size_t at = bytes.find(payload);
  ASSERT_NE(at, std::string::npos);
  bytes[at + 500] = 'B';
  write_file(dir_ / "flipped.zip", bytes);
  auto flipped = extract_zip(dir_ / "flipped.zip", dir_ / "work" / "t", {});
  ASSERT_FALSE(flipped.ok());
  EXPECT_TRUE(contains(flipped.status().message(), "entry 'payload'"))
      << flipped.status().message();
  EXPECT_TRUE(contains(flipped.status().message(), "CRC")) << flipped.status().message();
  EXPECT_FALSE(fs::exists(dir_ / "work" / "t"));

  write_file(dir_ / "truncated.zip", read_file(dir_ / "good.zip").substr(0, 600));
  auto truncated = extract_zip(dir_ / "truncated.zip", dir_ / "work" / "t", {});
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.status().code(), StatusCode::kInvalidArgument);

  EXPECT_EQ(extract_zip(dir_ / "missing.zip", dir_ / "work" / "t", {}).status().code(),
            StatusCode::kIo);
}

}  // namespace
}  // namespace stageline::artifacts
