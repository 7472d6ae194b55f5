#include "sources/zip_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "base/ids.h"
#include "base/strings.h"

namespace stageline::sources {

namespace fs = std::filesystem;

namespace {

// zlib counts in uInt (32 bits); bigger contents go through in pieces.
constexpr uint64_t kMaxZlibPiece = uint64_t{1} << 30;
constexpr size_t kBufferBytes = size_t{1} << 20;
constexpr size_t kStreamChunk = size_t{256} << 10;

constexpr uint32_t kLocalHeaderSignature = 0x04034b50;
constexpr uint32_t kCentralHeaderSignature = 0x02014b50;
constexpr uint32_t kEndSignature = 0x06054b50;
constexpr uint32_t kZip64EndSignature = 0x06064b50;
constexpr uint32_t kZip64LocatorSignature = 0x07064b50;
constexpr uint16_t kZip64ExtraId = 0x0001;
constexpr uint16_t kTimestampExtraId = 0x5455;
constexpr uint16_t kFlagUtf8 = 0x0800;
// "Made by" Unix (3), version 6.3: what libzip wrote.
constexpr uint16_t kVersionMadeBy = (3 << 8) | 63;
constexpr uint16_t kVersionStored = 10;
constexpr uint16_t kVersionDeflate = 20;
constexpr uint16_t kVersionZip64 = 45;
constexpr uint32_t kSentinel32 = 0xFFFFFFFFu;
constexpr uint16_t kSentinel16 = 0xFFFFu;

void put16(std::string& out, uint16_t v) {
  const char b[2] = {static_cast<char>(v & 0xff), static_cast<char>(v >> 8)};
  out.append(b, 2);
}

void put32(std::string& out, uint32_t v) {
  put16(out, static_cast<uint16_t>(v & 0xffff));
  put16(out, static_cast<uint16_t>(v >> 16));
}

void put64(std::string& out, uint64_t v) {
  put32(out, static_cast<uint32_t>(v & 0xffffffffu));
  put32(out, static_cast<uint32_t>(v >> 32));
}

bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return (c & 0x80) == 0; });
}

// Strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF).
bool is_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      n = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    static constexpr uint32_t kMin[4] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}

uint16_t name_flags(std::string_view name) {
  return !is_ascii(name) && is_utf8(name) ? kFlagUtf8 : 0;
}

std::string errno_text(int err) {
  std::string text = std::generic_category().message(err);
  if (err == ENOSPC || err == EDQUOT) text = "disk full (" + text + ")";
  return text;
}

}  // namespace

uint32_t crc32_of(std::string_view data) {
  uLong crc = crc32_z(0, nullptr, 0);
  crc = crc32_z(crc, reinterpret_cast<const Bytef*>(data.data()), data.size());
  return static_cast<uint32_t>(crc);
}

// ---- Deflater ----

Deflater::Deflater(int level) : level_(level), stream_() {
  STAGELINE_CHECK(level >= 1 && level <= 9);
}

Deflater::~Deflater() {
  if (initialized_) deflateEnd(&stream_);
}

Status Deflater::start() {
  if (!initialized_) {
    stream_ = z_stream{};
    // Raw deflate (negative window bits): zip has its own CRC and sizes.
    if (deflateInit2(&stream_, level_, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
      return Status::internal("deflate: cannot initialize zlib (out of memory)");
    initialized_ = true;
  } else if (deflateReset(&stream_) != Z_OK) {
    return Status::internal("deflate: cannot reset zlib's stream");
  }
  return {};
}

int Deflater::step(std::string_view content, uint64_t* in_pos, char* out, size_t out_len,
                   size_t* produced) {
  if (stream_.avail_in == 0 && *in_pos < content.size()) {
    const uint64_t piece = std::min<uint64_t>(kMaxZlibPiece, content.size() - *in_pos);
    // zlib never writes through next_in; its type predates const.
    stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(content.data() + *in_pos));
    stream_.avail_in = static_cast<uInt>(piece);
    *in_pos += piece;
  }
  stream_.next_out = reinterpret_cast<Bytef*>(out);
  stream_.avail_out = static_cast<uInt>(std::min<uint64_t>(out_len, kMaxZlibPiece));
  const bool last = *in_pos == content.size();
  const int rc = deflate(&stream_, last ? Z_FINISH : Z_NO_FLUSH);
  *produced = static_cast<size_t>(reinterpret_cast<char*>(stream_.next_out) - out);
  return rc;
}

Result<PreparedData> Deflater::prepare(std::string_view content) {
  PreparedData data;
  data.size = content.size();
  data.crc = crc32_of(content);
  // Deflate only pays when the result is smaller; a stream that reaches
  // the content's size is abandoned there, so incompressible content costs
  // at most one pass and never more memory than itself.
  if (content.size() < 2) return data;
  const uint64_t give_up_at = content.size() - 1;
  if (Status s = start(); !s.ok()) return s;
  const auto capacity = static_cast<size_t>(
      std::min<uint64_t>(give_up_at, deflateBound(&stream_, static_cast<uLong>(content.size()))));
  DeflatedBytes out(capacity);
  uint64_t in_pos = 0;
  uint64_t produced = 0;
  for (;;) {
    const size_t room = capacity - produced;
    if (room == 0) return data;  // not smaller: stored
    size_t n = 0;
    const int rc = step(content, &in_pos, out.data() + produced, room, &n);
    produced += n;
    if (rc == Z_STREAM_END) break;
    if (rc != Z_OK && rc != Z_BUF_ERROR)
      return Status::internal("deflate: " + std::string(stream_.msg ? stream_.msg : "zlib error"));
  }
  out.set_size(produced);
  data.method = ZipMethod::kDeflate;
  data.deflated = std::move(out);
  return data;
}

// ---- ZipWriter ----

ZipWriter::ZipWriter(int fd, fs::path out_file, fs::path temp_file, std::time_t mtime,
                     ZipLimits limits)
    : fd_(fd), out_file_(std::move(out_file)), temp_file_(std::move(temp_file)), limits_(limits) {
  // DOS time is local time, in 2-second steps, from 1980 to 2107; libzip
  // and git archive both clamp earlier times to 1980-01-01 00:00.
  std::tm tm{};
  if (localtime_r(&mtime, &tm) == nullptr || tm.tm_year < 80) {
    tm = std::tm{};
    tm.tm_year = 80;
    tm.tm_mday = 1;
  } else if (tm.tm_year > 207) {
    tm = std::tm{};
    tm.tm_year = 207;
    tm.tm_mon = 11;
    tm.tm_mday = 31;
    tm.tm_hour = 23;
    tm.tm_min = 59;
    tm.tm_sec = 58;
  }
  dos_time_ = static_cast<uint16_t>((tm.tm_hour << 11) | (tm.tm_min << 5) | (tm.tm_sec >> 1));
  dos_date_ = static_cast<uint16_t>(((tm.tm_year - 80) << 9) | ((tm.tm_mon + 1) << 5) | tm.tm_mday);
  // The extended timestamp holds a signed 32-bit time; outside it, only DOS time.
  if (mtime >= 0 && mtime <= 0x7fffffff) {
    has_unix_time_ = true;
    unix_time_ = static_cast<uint32_t>(mtime);
  }
  buffer_.reserve(kBufferBytes);
}

Result<std::unique_ptr<ZipWriter>> ZipWriter::create(const fs::path& out_file, std::time_t mtime,
                                                     ZipLimits limits) {
  fs::path temp = out_file;
  temp += ".tmp-" + new_uuid();
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) return Status::io("create " + temp.string() + ": " + errno_text(errno));
  return std::unique_ptr<ZipWriter>(new ZipWriter(fd, out_file, temp, mtime, limits));
}

ZipWriter::~ZipWriter() {
  if (fd_ >= 0) (void)::close(fd_);
  if (!finished_) (void)::unlink(temp_file_.c_str());
}

Status ZipWriter::io_error(const std::string& what, int err) const {
  return Status::io(what + " " + temp_file_.string() + ": " + errno_text(err));
}

Status ZipWriter::flush() {
  size_t done = 0;
  while (done < buffer_.size()) {
    const ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("write", errno);
    }
    done += static_cast<size_t>(n);
  }
  buffer_.clear();
  return {};
}

Status ZipWriter::append(std::string_view bytes) {
  if (buffer_.size() + bytes.size() > kBufferBytes) {
    if (Status s = flush(); !s.ok()) return s;
  }
  if (bytes.size() >= kBufferBytes) {
    // Large pieces go straight to the file instead of through the buffer.
    std::string_view rest = bytes;
    while (!rest.empty()) {
      const ssize_t n = ::write(fd_, rest.data(), rest.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return io_error("write", errno);
      }
      rest.remove_prefix(static_cast<size_t>(n));
    }
  } else {
    buffer_.append(bytes);
  }
  offset_ += bytes.size();
  return {};
}

Status ZipWriter::write_at(uint64_t offset, std::string_view bytes) {
  if (Status s = flush(); !s.ok()) return s;
  while (!bytes.empty()) {
    const ssize_t n = ::pwrite(fd_, bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("write", errno);
    }
    bytes.remove_prefix(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return {};
}

Status ZipWriter::truncate_to(uint64_t offset) {
  if (Status s = flush(); !s.ok()) return s;
  if (::ftruncate(fd_, static_cast<off_t>(offset)) != 0) return io_error("truncate", errno);
  if (::lseek(fd_, static_cast<off_t>(offset), SEEK_SET) < 0) return io_error("seek", errno);
  offset_ = offset;
  return {};
}

bool ZipWriter::needs_zip64(const Central& c) const {
  return c.size >= limits_.max_field32 || c.compressed >= limits_.max_field32 ||
         c.offset >= limits_.max_field32;
}

std::string ZipWriter::local_header(const Central& c) const {
  // The local header carries sizes, never the offset, so its ZIP64 field
  // is there when a size overflows; "version needed" matches the central
  // record's either way.
  const bool zip64 = needs_zip64(c);
  const bool zip64_sizes = c.size >= limits_.max_field32 || c.compressed >= limits_.max_field32;
  std::string h;
  h.reserve(30 + c.name.size() + 29);
  put32(h, kLocalHeaderSignature);
  put16(h, zip64                                                      ? kVersionZip64
           : c.method == ZipMethod::kDeflate || c.name.ends_with('/') ? kVersionDeflate
                                                                      : kVersionStored);
  put16(h, c.flags);
  put16(h, static_cast<uint16_t>(c.method));
  put16(h, dos_time_);
  put16(h, dos_date_);
  put32(h, c.crc);
  put32(h, zip64_sizes ? kSentinel32 : static_cast<uint32_t>(c.compressed));
  put32(h, zip64_sizes ? kSentinel32 : static_cast<uint32_t>(c.size));
  put16(h, static_cast<uint16_t>(c.name.size()));
  put16(h, static_cast<uint16_t>((zip64_sizes ? 20 : 0) + (has_unix_time_ ? 9 : 0)));
  h.append(c.name);
  if (zip64_sizes) {
    put16(h, kZip64ExtraId);
    put16(h, 16);
    put64(h, c.size);
    put64(h, c.compressed);
  }
  if (has_unix_time_) {
    put16(h, kTimestampExtraId);
    put16(h, 5);
    h.push_back(1);  // modification time only
    put32(h, unix_time_);
  }
  return h;
}

Status ZipWriter::write_local_header(Central& c) {
  if (c.name.size() > 0xffff) return Status::invalid("entry name longer than 65535 bytes");
  c.offset = offset_;
  c.flags = name_flags(c.name);
  return append(local_header(c));
}

Status ZipWriter::add_directory(std::string_view name, uint32_t unix_mode) {
  Central c;
  c.name = std::string(name) + "/";
  c.unix_mode = unix_mode;
  if (Status s = write_local_header(c); !s.ok()) return s.with_context("add " + quote(c.name));
  central_.push_back(std::move(c));
  return {};
}

Status ZipWriter::add(std::string_view name, uint32_t unix_mode, std::string_view content,
                      const PreparedData& data) {
  STAGELINE_CHECK(content.size() == data.size);
  Central c;
  c.name = std::string(name);
  c.unix_mode = unix_mode;
  c.method = data.method;
  c.crc = data.crc;
  c.size = data.size;
  c.compressed = data.method == ZipMethod::kDeflate ? data.deflated.size() : data.size;
  Status s = write_local_header(c);
  if (s.ok())
    s = append(data.method == ZipMethod::kDeflate ? std::string_view(data.deflated) : content);
  if (!s.ok()) return s.with_context("add " + quote(c.name));
  central_.push_back(std::move(c));
  return {};
}

Status ZipWriter::add_streamed(std::string_view name, uint32_t unix_mode, std::string_view content,
                               Deflater& deflater) {
  if (content.size() < 2)
    return add(name, unix_mode, content,
               PreparedData{ZipMethod::kStore, crc32_of(content), content.size(), {}});
  Central c;
  c.name = std::string(name);
  c.unix_mode = unix_mode;
  c.method = ZipMethod::kDeflate;
  c.crc = crc32_of(content);
  c.size = content.size();
  // The compressed size is not known yet, but it stays below the content's
  // size (or the entry is stored), so whether the header needs ZIP64 is
  // already decided and the rewritten header has the same length.
  c.compressed = c.size - 1;
  const std::string context = "add " + quote(c.name);
  if (Status s = write_local_header(c); !s.ok()) return s.with_context(context);
  auto deflated = deflater.deflate_chunks(content, c.size, kStreamChunk,
                                          [this](std::string_view piece) { return append(piece); });
  if (!deflated.ok()) return deflated.status().with_context(context);
  if (*deflated >= c.size) {
    // Not smaller: cut the deflated bytes off and store the content instead.
    if (Status s = truncate_to(c.offset); !s.ok()) return s.with_context(context);
    return add(name, unix_mode, content, PreparedData{ZipMethod::kStore, c.crc, c.size, {}});
  }
  c.compressed = *deflated;
  if (Status s = write_at(c.offset, local_header(c)); !s.ok()) return s.with_context(context);
  central_.push_back(std::move(c));
  return {};
}

Status ZipWriter::finish() {
  STAGELINE_CHECK(!finished_);
  const uint64_t cd_offset = offset_;
  std::string h;
  for (const Central& c : central_) {
    h.clear();
    const bool big_size = c.size >= limits_.max_field32;
    const bool big_compressed = c.compressed >= limits_.max_field32;
    const bool big_offset = c.offset >= limits_.max_field32;
    const bool zip64 = big_size || big_compressed || big_offset;
    const uint16_t zip64_len =
        static_cast<uint16_t>(8 * (int{big_size} + int{big_compressed} + int{big_offset}));
    put32(h, kCentralHeaderSignature);
    put16(h, kVersionMadeBy);
    put16(h, zip64                                                      ? kVersionZip64
             : c.method == ZipMethod::kDeflate || c.name.ends_with('/') ? kVersionDeflate
                                                                        : kVersionStored);
    put16(h, c.flags);
    put16(h, static_cast<uint16_t>(c.method));
    put16(h, dos_time_);
    put16(h, dos_date_);
    put32(h, c.crc);
    put32(h, big_compressed ? kSentinel32 : static_cast<uint32_t>(c.compressed));
    put32(h, big_size ? kSentinel32 : static_cast<uint32_t>(c.size));
    put16(h, static_cast<uint16_t>(c.name.size()));
    put16(h, static_cast<uint16_t>((zip64 ? 4 + zip64_len : 0) + (has_unix_time_ ? 9 : 0)));
    put16(h, 0);  // comment
    put16(h, 0);  // disk
    put16(h, 0);  // internal attributes
    put32(h, c.unix_mode << 16);
    put32(h, big_offset ? kSentinel32 : static_cast<uint32_t>(c.offset));
    h.append(c.name);
    if (zip64) {
      // Only the fields that overflowed, in this order (APPNOTE 4.5.3).
      put16(h, kZip64ExtraId);
      put16(h, zip64_len);
      if (big_size) put64(h, c.size);
      if (big_compressed) put64(h, c.compressed);
      if (big_offset) put64(h, c.offset);
    }
    if (has_unix_time_) {
      put16(h, kTimestampExtraId);
      put16(h, 5);
      h.push_back(1);
      put32(h, unix_time_);
    }
    if (Status s = append(h); !s.ok()) return s.with_context("write the central directory");
  }
  const uint64_t cd_size = offset_ - cd_offset;
  const uint64_t count = central_.size();
  const bool many = count >= limits_.max_entries16;
  const bool far = cd_offset >= limits_.max_field32;
  const bool large = cd_size >= limits_.max_field32;
  h.clear();
  if (many || far || large) {
    const uint64_t end64_offset = offset_;
    put32(h, kZip64EndSignature);
    put64(h, 44);  // the size of the rest of this record
    put16(h, kVersionMadeBy);
    put16(h, kVersionZip64);
    put32(h, 0);  // this disk
    put32(h, 0);  // the disk with the central directory
    put64(h, count);
    put64(h, count);
    put64(h, cd_size);
    put64(h, cd_offset);
    put32(h, kZip64LocatorSignature);
    put32(h, 0);
    put64(h, end64_offset);
    put32(h, 1);  // disks in all
  }
  put32(h, kEndSignature);
  put16(h, 0);
  put16(h, 0);
  put16(h, many ? kSentinel16 : static_cast<uint16_t>(count));
  put16(h, many ? kSentinel16 : static_cast<uint16_t>(count));
  put32(h, large ? kSentinel32 : static_cast<uint32_t>(cd_size));
  put32(h, far ? kSentinel32 : static_cast<uint32_t>(cd_offset));
  put16(h, 0);  // comment
  Status s = append(h);
  if (s.ok()) s = flush();
  if (!s.ok()) return s.with_context("write the end of the central directory");
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0 && errno != EINTR) return io_error("close", errno);
  if (::rename(temp_file_.c_str(), out_file_.c_str()) != 0)
    return Status::io("rename " + temp_file_.string() + " to " + out_file_.string() + ": " +
                      errno_text(errno));
  finished_ = true;
  return {};
}

}  // namespace stageline::sources
