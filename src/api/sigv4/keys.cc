#include "api/sigv4/keys.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "api/sigv4/crypto.h"
#include "base/strings.h"

namespace stageline::api::sigv4 {

void InMemoryKeySource::put(Key key) {
  std::lock_guard lock(mu_);
  std::string id = key.access_key_id;
  keys_.insert_or_assign(std::move(id), std::move(key));
}

bool InMemoryKeySource::remove(std::string_view access_key_id) {
  std::lock_guard lock(mu_);
  auto it = keys_.find(access_key_id);
  if (it == keys_.end()) return false;
  keys_.erase(it);
  return true;
}

std::optional<Key> InMemoryKeySource::find(std::string_view access_key_id) {
  std::lock_guard lock(mu_);
  auto it = keys_.find(access_key_id);
  if (it == keys_.end()) return std::nullopt;
  return it->second;
}

namespace {

constexpr char kBase32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Every 5 bytes give 8 base32 digits; `bytes` is a multiple of 5.
std::string base32(std::string_view bytes) {
  std::string out;
  for (size_t i = 0; i + 5 <= bytes.size(); i += 5) {
    uint64_t v = 0;
    for (size_t j = 0; j < 5; ++j) v = (v << 8) | static_cast<unsigned char>(bytes[i + j]);
    for (int shift = 35; shift >= 0; shift -= 5) out += kBase32[(v >> shift) & 31];
  }
  return out;
}

// Every 3 bytes give 4 base64 digits; `bytes` is a multiple of 3 (no padding).
std::string base64(std::string_view bytes) {
  std::string out;
  for (size_t i = 0; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = 0;
    for (size_t j = 0; j < 3; ++j) v = (v << 8) | static_cast<unsigned char>(bytes[i + j]);
    for (int shift = 18; shift >= 0; shift -= 6) out += kBase64[(v >> shift) & 63];
  }
  return out;
}

std::string errno_text(int err) { return std::strerror(err); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    out.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

// The section name when `line` is a section header ("[name]"), else nullopt.
std::optional<std::string_view> section_of(std::string_view line) {
  std::string_view t = trim(line);
  if (t.size() < 3 || t.front() != '[' || t.back() != ']') return std::nullopt;
  return t.substr(1, t.size() - 2);
}

bool writable_value(std::string_view v) {
  if (v.empty()) return false;
  for (char c : v) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return false;
  }
  return true;
}

Result<std::string> read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::io("open " + quote(path) + ": " + errno_text(errno));
  std::string out;
  char buf[4096];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return Status::io("read " + quote(path) + ": " + errno_text(err));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > (1u << 20)) {
      ::close(fd);
      return Status::io("read " + quote(path) + ": larger than 1 MiB, not a credentials file");
    }
  }
  ::close(fd);
  return out;
}

Status write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::io(errno_text(errno));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

// mkdir -p with mode 0700 for the directories that do not exist yet.
Status make_dirs(const std::string& dir) {
  if (dir.empty()) return {};
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return {};
    return Status::io(quote(dir) + " is not a directory");
  }
  size_t slash = dir.find_last_of('/');
  if (slash != std::string::npos && slash > 0) {
    if (Status s = make_dirs(dir.substr(0, slash)); !s.ok()) return s;
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return Status::io("mkdir " + quote(dir) + ": " + errno_text(errno));
  return {};
}

}  // namespace

Result<Key> generate_key(std::string principal) {
  auto id_bytes = random_bytes(10);
  if (!id_bytes.ok()) return id_bytes.status().with_context("generate access key");
  auto secret_bytes = random_bytes(30);
  if (!secret_bytes.ok()) return secret_bytes.status().with_context("generate access key");
  return Key{"AKIA" + base32(*id_bytes), base64(*secret_bytes), std::move(principal), true};
}

bool is_access_key_id(std::string_view id) {
  if (id.size() != 20) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    char c = id[i];
    bool upper = c >= 'A' && c <= 'Z';
    if (i < 4 ? !upper : !(upper || (c >= '2' && c <= '7'))) return false;
  }
  return true;
}

Status write_credentials_file(const std::string& path, const Key& key, std::string_view profile) {
  const std::string what = "write credentials file " + quote(path);
  if (profile.empty() || profile.find_first_of("[]\r\n") != std::string_view::npos ||
      trim(profile) != profile)
    return Status::invalid(what + ": profile name " + quote(profile) +
                           " cannot be written (empty, surrounding spaces, brackets or newlines)");
  if (!writable_value(key.access_key_id) || !writable_value(key.secret))
    return Status::invalid(what +
                           ": the access key id and secret must be non-empty and free of spaces "
                           "and control characters");

  std::string existing;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    auto r = read_file(path);
    if (!r.ok()) return r.status().with_context(what);
    existing = std::move(*r);
  } else if (errno != ENOENT) {
    return Status::io(what + ": stat: " + errno_text(errno));
  }

  // Keep every line outside the profile's section(s); put the new section
  // where the first old one was, or at the end.
  std::string section = "[" + std::string(profile) + "]\naws_access_key_id = " + key.access_key_id +
                        "\naws_secret_access_key = " + key.secret + "\n";
  std::string out;
  bool in_profile = false, placed = false;
  for (std::string_view line : lines_of(existing)) {
    if (auto name = section_of(line)) {
      in_profile = *name == profile;
      if (in_profile) {
        if (!placed) out += section;
        placed = true;
        continue;
      }
    }
    if (in_profile) continue;
    out += line;
    out += '\n';
  }
  if (!placed) {
    if (!out.empty() && !out.ends_with("\n\n")) out += '\n';
    out += section;
  }

  size_t slash = path.find_last_of('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  if (base.empty()) return Status::invalid(what + ": the path names a directory");
  if (Status s = make_dirs(dir); !s.ok()) return s.with_context(what);

  std::string tmp = dir + "/." + base + ".tmp-XXXXXX";
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return Status::io(what + ": create temporary file: " + errno_text(errno));
  auto fail = [&](const std::string& step, int err) {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    return Status::io(what + ": " + step + ": " + errno_text(err));
  };
  // mkostemp asks for 0600 but the umask still applies; fchmod does not
  // consult it, so the mode is exactly 0600 (and never wider before this).
  if (::fchmod(fd, 0600) != 0) return fail("chmod 0600", errno);
  if (Status s = write_all(fd, out); !s.ok()) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return Status::io(what + ": write: " + s.message());
  }
  if (::fsync(fd) != 0) return fail("fsync", errno);
  int closing = fd;
  fd = -1;
  if (::close(closing) != 0) return fail("close", errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("rename into place", errno);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return Status::io(what + ": open directory to fsync: " + errno_text(errno));
  int rc = ::fsync(dfd);
  int err = errno;
  ::close(dfd);
  if (rc != 0) return Status::io(what + ": fsync directory: " + errno_text(err));
  return {};
}

Result<Key> read_credentials_file(const std::string& path, std::string_view profile) {
  auto text = read_file(path);
  if (!text.ok()) return text.status().with_context("read credentials file");
  bool in_profile = false, found = false;
  Key key;
  for (std::string_view line : lines_of(*text)) {
    if (auto name = section_of(line)) {
      in_profile = *name == profile;
      found = found || in_profile;
      continue;
    }
    std::string_view t = trim(line);
    if (!in_profile || t.empty() || t.front() == '#' || t.front() == ';') continue;
    size_t sep = t.find_first_of("=:");
    if (sep == std::string_view::npos) continue;
    std::string option = to_lower(trim(t.substr(0, sep)));
    std::string_view value = trim(t.substr(sep + 1));
    if (option == "aws_access_key_id") key.access_key_id = value;
    if (option == "aws_secret_access_key") key.secret = value;
  }
  const std::string what = "read credentials file " + quote(path);
  if (!found) return Status::not_found(what + ": no profile " + quote(profile));
  if (key.access_key_id.empty())
    return Status::not_found(what + ": profile " + quote(profile) + " has no aws_access_key_id");
  if (key.secret.empty())
    return Status::not_found(what + ": profile " + quote(profile) +
                             " has no aws_secret_access_key");
  return key;
}

}  // namespace stageline::api::sigv4
