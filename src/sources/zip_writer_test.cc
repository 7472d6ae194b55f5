#include "sources/zip_writer.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include <random>

#include "sources/test_util.h"

namespace stageline::sources {
namespace {

namespace fs = std::filesystem;
using testing::read_file;
using testing::sh;
using testing::TempDir;

// 2024-05-02 08:30:00 UTC, the sample repository's commit time.
constexpr std::time_t kMtime = 1714638600;

std::string random_bytes(size_t n, unsigned seed = 7) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(gen() & 0xff);
  return s;
}

std::string text_bytes(size_t n) {
  std::string s;
  for (int i = 0; s.size() < n; ++i) s += "line " + std::to_string(i) + " of some text\n";
  s.resize(n);
  return s;
}

// Reads `zip` back with python3's zipfile (which checks every CRC while
// reading) and lists each entry as
// "name flags system mode method size compressed zip64-extra date", then
// "zip64-end yes|no".
std::string python_listing(const fs::path& zip) {
  auto r = sh(
      zip.parent_path(),
      "python3 - '" + zip.string() +
          "' <<'EOF'\n"
          "import sys, zipfile\n"
          "data = open(sys.argv[1], 'rb').read()\n"
          "with zipfile.ZipFile(sys.argv[1]) as z:\n"
          "  for i in z.infolist():\n"
          "    z.read(i)\n"
          "    print(i.filename, hex(i.flag_bits), i.create_system, oct(i.external_attr >> 16),\n"
          "          i.compress_type, i.file_size, i.compress_size,\n"
          "          'zip64' if i.extra[:2] == b'\\x01\\x00' else '-',\n"
          "          '%04d-%02d-%02dT%02d:%02d:%02d' % i.date_time)\n"
          "print('zip64-end', 'yes' if b'PK\\x06\\x06' in data else 'no')\n"
          "EOF\n");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return r.output;
}

std::string python_read(const fs::path& zip, const std::string& name) {
  auto r = sh(zip.parent_path(),
              "python3 -c 'import sys, zipfile; "
              "sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))' '" +
                  zip.string() + "' '" + name + "'");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return r.output;
}

void expect_unzip_test_passes(const fs::path& zip) {
  auto r = sh(zip.parent_path(), "unzip -t -q '" + zip.string() + "'");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Files left in `dir` besides `keep`: temporary files must not stay behind.
std::vector<std::string> other_files(const fs::path& dir, const std::string& keep) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename() != keep) names.push_back(e.path().filename().string());
  return names;
}

Status add_content(ZipWriter& w, Deflater& d, const std::string& name, uint32_t mode,
                   const std::string& content) {
  auto data = d.prepare(content);
  if (!data.ok()) return data.status();
  return w.add(name, mode, content, *data);
}

TEST(Deflater, DeflatesWhatShrinksAndStoresWhatWouldNot) {
  Deflater d(6);
  const std::string text = text_bytes(10000);
  auto deflated = d.prepare(text);
  ASSERT_TRUE(deflated.ok()) << deflated.status().message();
  EXPECT_EQ(deflated->method, ZipMethod::kDeflate);
  EXPECT_LT(deflated->deflated.size(), text.size() / 3);
  EXPECT_EQ(deflated->size, text.size());
  EXPECT_EQ(deflated->crc, crc32_of(text));
  // Inflated back (raw deflate) it is the text again.
  std::string back(text.size(), '\0');
  z_stream in{};
  ASSERT_EQ(inflateInit2(&in, -MAX_WBITS), Z_OK);
  in.next_in = reinterpret_cast<Bytef*>(deflated->deflated.data());
  in.avail_in = static_cast<uInt>(deflated->deflated.size());
  in.next_out = reinterpret_cast<Bytef*>(back.data());
  in.avail_out = static_cast<uInt>(back.size());
  EXPECT_EQ(inflate(&in, Z_FINISH), Z_STREAM_END);
  inflateEnd(&in);
  EXPECT_EQ(back, text);

  for (const std::string& content :
       {std::string(), std::string("x"), std::string("hello\n"), random_bytes(5000)}) {
    auto stored = d.prepare(content);
    ASSERT_TRUE(stored.ok());
    EXPECT_EQ(stored->method, ZipMethod::kStore) << content.size() << " bytes";
    EXPECT_TRUE(stored->deflated.empty());
    EXPECT_EQ(stored->crc, crc32_of(content));
  }
  // The stream is reset between entries: the same text again gives the same bytes.
  auto again = d.prepare(text);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->deflated, deflated->deflated);
}

TEST(Deflater, DeflateChunksGivesUpOnceTheOutputReachesTheLimit) {
  Deflater d(6);
  const std::string noise = random_bytes(100000);
  uint64_t seen = 0;
  auto gave_up = d.deflate_chunks(noise, 4096, 1000, [&](std::string_view piece) {
    EXPECT_LE(piece.size(), 1000u);
    seen += piece.size();
    return Status();
  });
  ASSERT_TRUE(gave_up.ok());
  EXPECT_EQ(*gave_up, 4096u);
  EXPECT_EQ(seen, 4096u);

  auto failed = d.deflate_chunks(text_bytes(100000), 1 << 20, 1000,
                                 [](std::string_view) { return Status::io("the sink is full"); });
  EXPECT_EQ(failed.status().code(), StatusCode::kIo);
}

TEST(ZipWriter, WritesEntriesThatUnzipAndPythonReadWithModesNamesAndTimes) {
  // DOS times are local times; the expectations are in UTC.
  ::setenv("TZ", "UTC", 1);
  ::tzset();
  TempDir dir;
  const fs::path zip = dir / "out.zip";
  auto w = ZipWriter::create(zip, kMtime);
  ASSERT_TRUE(w.ok()) << w.status().message();
  Deflater d(6);
  const std::string text = text_bytes(20000);
  const std::string noise = random_bytes(3000);
  ASSERT_TRUE((*w)->add_directory("src", S_IFDIR | 0755).ok());
  ASSERT_TRUE(add_content(**w, d, "src/text.txt", S_IFREG | 0644, text).ok());
  ASSERT_TRUE(add_content(**w, d, "run.sh", S_IFREG | 0755, "#!/bin/sh\necho hi\n").ok());
  ASSERT_TRUE(add_content(**w, d, "noise.bin", S_IFREG | 0644, noise).ok());
  ASSERT_TRUE(add_content(**w, d, "empty", S_IFREG | 0644, "").ok());
  ASSERT_TRUE(add_content(**w, d, "link", S_IFLNK | 0777, "src/text.txt").ok());
  ASSERT_TRUE(add_content(**w, d, "caf\xc3\xa9.txt", S_IFREG | 0644, "caf\xc3\xa9\n").ok());
  ASSERT_TRUE(add_content(**w, d, "latin\xe9.txt", S_IFREG | 0644, "not utf-8\n").ok());
  EXPECT_FALSE(fs::exists(zip)) << "nothing appears before finish()";
  ASSERT_TRUE((*w)->finish().ok());
  EXPECT_TRUE(other_files(dir.path(), "out.zip").empty());

  expect_unzip_test_passes(zip);
  // Local time is what DOS time means; the tests run with TZ unset or UTC.
  const std::string listing = python_listing(zip);
  EXPECT_EQ(listing,
            "src/ 0x0 3 0o40755 0 0 0 - 2024-05-02T08:30:00\n"
            "src/text.txt 0x0 3 0o100644 8 20000 " +
                std::to_string(d.prepare(text)->deflated.size()) +
                " - 2024-05-02T08:30:00\n"
                "run.sh 0x0 3 0o100755 0 18 18 - 2024-05-02T08:30:00\n"
                "noise.bin 0x0 3 0o100644 0 3000 3000 - 2024-05-02T08:30:00\n"
                "empty 0x0 3 0o100644 0 0 0 - 2024-05-02T08:30:00\n"
                "link 0x0 3 0o120777 0 12 12 - 2024-05-02T08:30:00\n"
                "caf\xc3\xa9.txt 0x800 3 0o100644 0 6 6 - 2024-05-02T08:30:00\n"
                // Not UTF-8: no flag 11, so python decodes the byte as CP437.
                "latin\xce\x98.txt 0x0 3 0o100644 0 10 10 - 2024-05-02T08:30:00\n"
                "zip64-end no\n");
  EXPECT_EQ(python_read(zip, "src/text.txt"), text);
  EXPECT_EQ(python_read(zip, "noise.bin"), noise);

  // unzip restores the exact time from the extended timestamp field (it
  // leaves a symlink's own time alone).
  auto r =
      sh(dir.path(), "unzip -q out.zip -d x && stat -c '%Y %A %N' x/src/text.txt x/run.sh x/link");
  EXPECT_TRUE(contains(r.output,
                       "1714638600 -rw-r--r-- 'x/src/text.txt'\n"
                       "1714638600 -rwxr-xr-x 'x/run.sh'\n"))
      << r.output;
  EXPECT_TRUE(contains(r.output, "lrwxrwxrwx 'x/link' -> 'src/text.txt'")) << r.output;
}

TEST(ZipWriter, AddStreamedDeflatesInPiecesAndStoresWhatDoesNotShrink) {
  TempDir dir;
  const fs::path zip = dir / "out.zip";
  auto w = ZipWriter::create(zip, kMtime);
  ASSERT_TRUE(w.ok());
  Deflater d(6);
  // Larger than the writer's 256 KiB pieces and its 1 MiB buffer.
  const std::string text = text_bytes(3 << 20);
  const std::string noise = random_bytes(700000);
  ASSERT_TRUE((*w)->add_streamed("text.txt", S_IFREG | 0644, text, d).ok());
  ASSERT_TRUE((*w)->add_streamed("noise.bin", S_IFREG | 0644, noise, d).ok());
  ASSERT_TRUE((*w)->add_streamed("tiny", S_IFREG | 0644, "x", d).ok());
  ASSERT_TRUE(add_content(**w, d, "after.txt", S_IFREG | 0644, "after\n").ok());
  ASSERT_TRUE((*w)->finish().ok());

  expect_unzip_test_passes(zip);
  const std::string listing = python_listing(zip);
  EXPECT_TRUE(contains(listing, "text.txt 0x0 3 0o100644 8 3145728 ")) << listing;
  EXPECT_TRUE(contains(listing, "noise.bin 0x0 3 0o100644 0 700000 700000 -")) << listing;
  EXPECT_TRUE(contains(listing, "tiny 0x0 3 0o100644 0 1 1 -")) << listing;
  EXPECT_EQ(python_read(zip, "text.txt"), text);
  EXPECT_EQ(python_read(zip, "noise.bin"), noise);
  EXPECT_EQ(python_read(zip, "after.txt"), "after\n");
  // The deflated attempt at the noise was cut off the file: the archive is
  // no larger than its entries stored plus headers.
  EXPECT_LT(fs::file_size(zip), d.prepare(text)->deflated.size() + noise.size() + 1000);
}

TEST(ZipWriter, SizesAndOffsetsAtTheLimitGoIntoZip64ExtraFields) {
  TempDir dir;
  const fs::path zip = dir / "out.zip";
  ZipLimits limits;
  limits.max_field32 = 1000;  // sizes and offsets from 1000 on need ZIP64
  auto w = ZipWriter::create(zip, kMtime, limits);
  ASSERT_TRUE(w.ok());
  Deflater d(6);
  const std::string small = "small\n";
  const std::string noise = random_bytes(1000);    // stored: size exactly at the limit
  const std::string text = text_bytes(50000);      // deflated: size above, compressed below
  const std::string big_text = text_bytes(90000);  // streamed
  ASSERT_TRUE(add_content(**w, d, "a-small", S_IFREG | 0644, small).ok());
  ASSERT_TRUE(add_content(**w, d, "b-noise", S_IFREG | 0644, noise).ok());
  ASSERT_TRUE(add_content(**w, d, "c-late", S_IFREG | 0644, small).ok());  // offset > 1000
  ASSERT_TRUE(add_content(**w, d, "d-text", S_IFREG | 0644, text).ok());
  ASSERT_TRUE((*w)->add_streamed("e-streamed", S_IFREG | 0755, big_text, d).ok());
  ASSERT_TRUE((*w)->add_directory("f-dir", S_IFDIR | 0755).ok());
  ASSERT_TRUE((*w)->finish().ok());

  expect_unzip_test_passes(zip);
  const std::string listing = python_listing(zip);
  EXPECT_TRUE(contains(listing, "a-small 0x0 3 0o100644 0 6 6 - ")) << listing;
  EXPECT_TRUE(contains(listing, "b-noise 0x0 3 0o100644 0 1000 1000 zip64 ")) << listing;
  EXPECT_TRUE(contains(listing, "c-late 0x0 3 0o100644 0 6 6 zip64 ")) << listing;
  EXPECT_TRUE(contains(listing, "d-text 0x0 3 0o100644 8 50000 ")) << listing;
  EXPECT_TRUE(contains(listing, "e-streamed 0x0 3 0o100755 8 90000 ")) << listing;
  EXPECT_TRUE(contains(listing, "f-dir/ 0x0 3 0o40755 0 0 0 zip64 ")) << listing;
  // The central directory starts beyond 1000 bytes: the ZIP64 end records.
  EXPECT_TRUE(contains(listing, "zip64-end yes")) << listing;
  EXPECT_EQ(python_read(zip, "b-noise"), noise);
  EXPECT_EQ(python_read(zip, "d-text"), text);
  EXPECT_EQ(python_read(zip, "e-streamed"), big_text);
  auto r = sh(dir.path(), "unzip -q out.zip -d x");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(read_file(dir / "x" / "e-streamed"), big_text);
}

TEST(ZipWriter, AnEntryCountAtTheLimitGetsTheZip64EndRecords) {
  TempDir dir;
  ZipLimits limits;
  limits.max_entries16 = 5;
  Deflater d(6);
  for (int count : {4, 5}) {
    const fs::path zip = dir / ("out" + std::to_string(count) + ".zip");
    auto w = ZipWriter::create(zip, kMtime, limits);
    ASSERT_TRUE(w.ok());
    for (int i = 0; i < count; ++i)
      ASSERT_TRUE(add_content(**w, d, "f" + std::to_string(i), S_IFREG | 0644, "x\n").ok());
    ASSERT_TRUE((*w)->finish().ok());
    expect_unzip_test_passes(zip);
    const std::string listing = python_listing(zip);
    EXPECT_TRUE(contains(listing, "f" + std::to_string(count - 1) + " ")) << listing;
    EXPECT_TRUE(contains(listing, count == 5 ? "zip64-end yes" : "zip64-end no")) << listing;
  }
}

TEST(ZipWriter, AnArchiveNeverFinishedLeavesNoFileBehind) {
  TempDir dir;
  {
    auto w = ZipWriter::create(dir / "out.zip", kMtime);
    ASSERT_TRUE(w.ok());
    Deflater d(6);
    ASSERT_TRUE(add_content(**w, d, "a", S_IFREG | 0644, "a\n").ok());
    EXPECT_EQ(other_files(dir.path(), "out.zip").size(), 1u) << "the temporary file";
  }
  EXPECT_TRUE(fs::is_empty(dir.path()));

  auto nowhere = ZipWriter::create(dir / "missing" / "out.zip", kMtime);
  EXPECT_EQ(nowhere.status().code(), StatusCode::kIo);
  EXPECT_TRUE(contains(nowhere.status().message(), (dir / "missing").string()))
      << nowhere.status().message();

  // A directory where the zip should go: finish() fails on the rename and
  // removes its temporary file.
  fs::create_directories(dir / "taken.zip" / "inside");
  auto w = ZipWriter::create(dir / "taken.zip", kMtime);
  ASSERT_TRUE(w.ok());
  Status finished = (*w)->finish();
  EXPECT_EQ(finished.code(), StatusCode::kIo);
  EXPECT_TRUE(contains(finished.message(), "rename")) << finished.message();
  w = Status::internal("gone");
  EXPECT_EQ(other_files(dir.path(), "taken.zip").size(), 0u);
}

}  // namespace
}  // namespace stageline::sources
