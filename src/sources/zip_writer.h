// sources/zip_writer: a zip file written directly with zlib, for the source
// zip of a commit (git_archive.h). libzip is not used here because its
// sources are pulled one at a time by zip_close, which leaves no room to
// deflate entries on other threads; this writer takes entries that are
// already compressed (Deflater, on any thread) and lays them out in order.
//
// The format, as written (PKWARE APPNOTE.TXT 6.3):
//   - One local header per entry with the sizes and CRC known in advance (no
//     data descriptors), the entry's data, then the central directory and
//     the end of central directory record.
//   - Files are deflated (raw deflate, zlib's level) or stored when
//     deflating does not make them smaller, as git archive does; empty files,
//     symlinks and directories are stored. Directory names end in '/'.
//   - Every entry is "made by" Unix, version 6.3, with the Unix mode in the
//     high 16 bits of the external attributes (what libzip wrote before).
//   - Every entry has the same modification time: the DOS time and date
//     (local time, as libzip and git archive write it) and an extended
//     timestamp extra field (0x5455) with the exact UTC time, as git archive.
//   - A name that is valid UTF-8 and not plain ASCII has flag bit 11 set.
//   - ZIP64: an entry whose size or local header offset reaches 0xFFFFFFFF
//     gets a ZIP64 extra field (0x0001), and an archive whose entry count
//     reaches 0xFFFF, or whose central directory size or offset reaches
//     0xFFFFFFFF, gets the ZIP64 end record and locator. The limits are
//     parameters (ZipLimits) so tests reach these paths with small archives.
//
// May depend on base and zlib only.
#pragma once

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace stageline::sources {

// Where ZIP64 takes over. The defaults are the format's; tests lower them.
struct ZipLimits {
  // A size or offset at or above this is written as 0xFFFFFFFF with its
  // value in a ZIP64 extra field (or the ZIP64 end record).
  uint64_t max_field32 = 0xFFFFFFFFu;
  // An entry count at or above this needs the ZIP64 end record.
  uint64_t max_entries16 = 0xFFFFu;
};

enum class ZipMethod : uint16_t { kStore = 0, kDeflate = 8 };

// A buffer of deflated bytes. Unlike std::string it is not zeroed when
// allocated: for the size of every blob, that memset was 1% of the zip's
// CPU time. Move-only.
class DeflatedBytes {
 public:
  DeflatedBytes() = default;
  // Room for `capacity` bytes, uninitialized; size() is 0 until set_size.
  explicit DeflatedBytes(size_t capacity) : bytes_(new char[capacity]) {}
  char* data() { return bytes_.get(); }
  const char* data() const { return bytes_.get(); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  void set_size(size_t size) { size_ = size; }
  operator std::string_view() const { return {bytes_.get(), size_}; }  // NOLINT: a view
  bool operator==(const DeflatedBytes& other) const {
    return std::string_view(*this) == std::string_view(other);
  }

 private:
  std::unique_ptr<char[]> bytes_;
  size_t size_ = 0;
};

// An entry's content, ready to be written: its CRC and size, and either the
// raw deflate stream (kDeflate) or nothing (kStore: the content itself is
// written).
struct PreparedData {
  ZipMethod method = ZipMethod::kStore;
  uint32_t crc = 0;
  uint64_t size = 0;
  DeflatedBytes deflated;  // kDeflate only
};

// Compresses entry contents as git archive does: raw deflate at `level`
// (window 15, memLevel 8, default strategy), kept only when it is smaller
// than the content; empty content is stored. Owns one zlib stream, reset
// for each entry. Not thread-safe: one Deflater per thread.
class Deflater {
 public:
  // REQUIRES: 1 <= level <= 9.
  explicit Deflater(int level);
  ~Deflater();
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;

  // The CRC and the smaller of the deflated and the stored form of
  // `content`. kInternal when zlib fails (out of memory).
  Result<PreparedData> prepare(std::string_view content);

  // Deflates `content` in pieces of at most `chunk` bytes of output, calling
  // `sink` for each, and stops early once the output reaches `give_up_at`
  // bytes. Returns the number of output bytes, or `give_up_at` when it gave
  // up. kInternal when zlib fails; a failed sink's Status otherwise.
  template <typename Sink>
  Result<uint64_t> deflate_chunks(std::string_view content, uint64_t give_up_at, size_t chunk,
                                  Sink&& sink);

 private:
  Status start();
  // One deflate() call over `content`, feeding it from `*in_pos` when zlib
  // has consumed what it had, into at most `out_len` bytes at `out`; sets
  // `*produced`. Returns zlib's code.
  int step(std::string_view content, uint64_t* in_pos, char* out, size_t out_len, size_t* produced);

  int level_;
  bool initialized_ = false;
  z_stream stream_;
};

// The CRC-32 of `data` (any size).
uint32_t crc32_of(std::string_view data);

// Writes one zip file. The archive goes to a temporary file beside
// `out_file`, renamed over it by finish(), so `out_file` is never half
// written; without a successful finish() the temporary file is removed.
// Entries are written in the order they are added. Keeps one central
// directory record per entry in memory (name + 40 bytes). Not thread-safe:
// one thread at a time.
class ZipWriter {
 public:
  // Creates the temporary file. kIo naming it when that fails.
  static Result<std::unique_ptr<ZipWriter>> create(const std::filesystem::path& out_file,
                                                   std::time_t mtime, ZipLimits limits = {});
  ~ZipWriter();
  ZipWriter(const ZipWriter&) = delete;
  ZipWriter& operator=(const ZipWriter&) = delete;

  // A directory entry `name` + "/" (no trailing '/' in `name`).
  Status add_directory(std::string_view name, uint32_t unix_mode);

  // A file or symlink entry. `content` is the entry's content; `data` is
  // what Deflater::prepare gave for it. REQUIRES: data.size ==
  // content.size().
  Status add(std::string_view name, uint32_t unix_mode, std::string_view content,
             const PreparedData& data);

  // A file entry deflated straight into the archive in pieces, for content
  // too large to hold twice in memory: only one piece of the deflated form
  // is ever in memory. Stored instead, like prepare(), when deflating does
  // not make it smaller (the deflated bytes are then cut off the file).
  Status add_streamed(std::string_view name, uint32_t unix_mode, std::string_view content,
                      Deflater& deflater);

  // Writes the central directory and the end records, closes the file and
  // renames it to `out_file`. kIo when writing, closing or renaming fails.
  // REQUIRES: called once, last.
  Status finish();

  uint64_t entries() const { return central_.size(); }

 private:
  struct Central {
    std::string name;
    uint16_t flags = 0;
    ZipMethod method = ZipMethod::kStore;
    uint32_t crc = 0;
    uint64_t compressed = 0;
    uint64_t size = 0;
    uint64_t offset = 0;
    uint32_t unix_mode = 0;
  };

  ZipWriter(int fd, std::filesystem::path out_file, std::filesystem::path temp_file,
            std::time_t mtime, ZipLimits limits);

  bool needs_zip64(const Central& c) const;
  std::string local_header(const Central& c) const;
  Status write_local_header(Central& c);
  Status append(std::string_view bytes);
  Status flush();
  Status write_at(uint64_t offset, std::string_view bytes);
  Status truncate_to(uint64_t offset);
  Status io_error(const std::string& what, int err) const;

  int fd_;
  std::filesystem::path out_file_;
  std::filesystem::path temp_file_;
  ZipLimits limits_;
  uint16_t dos_time_ = 0;
  uint16_t dos_date_ = 0;
  bool has_unix_time_ = false;
  uint32_t unix_time_ = 0;
  bool finished_ = false;
  uint64_t offset_ = 0;  // bytes written to the file and the buffer
  std::string buffer_;
  std::vector<Central> central_;
};

template <typename Sink>
Result<uint64_t> Deflater::deflate_chunks(std::string_view content, uint64_t give_up_at,
                                          size_t chunk, Sink&& sink) {
  if (Status s = start(); !s.ok()) return s;
  std::string out(chunk, '\0');
  uint64_t in_pos = 0;
  uint64_t total = 0;
  for (;;) {
    const size_t room = static_cast<size_t>(std::min<uint64_t>(chunk, give_up_at - total));
    size_t produced = 0;
    const int rc = step(content, &in_pos, out.data(), room, &produced);
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
      return Status::internal("deflate: " + std::string(stream_.msg ? stream_.msg : "zlib error"));
    if (produced > 0) {
      if (Status s = sink(std::string_view(out.data(), produced)); !s.ok()) return s;
      total += produced;
    }
    if (rc == Z_STREAM_END) return total;
    if (total >= give_up_at) return give_up_at;
  }
}

}  // namespace stageline::sources
