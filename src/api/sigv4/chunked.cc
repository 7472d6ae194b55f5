#include "api/sigv4/chunked.h"

#include <openssl/evp.h>

#include <charconv>
#include <cstdio>

#include "api/sigv4/crypto.h"
#include "base/strings.h"

namespace stageline::api::sigv4 {

namespace {

constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr size_t kMaxHeaderLine = 256;

std::string chunk_signature(const StreamingSeed& seed, std::string_view previous,
                            std::string_view data_sha256_hex) {
  std::string sts = "AWS4-HMAC-SHA256-PAYLOAD\n" + seed.amz_date + "\n" + seed.scope + "\n" +
                    std::string(previous) + "\n" + std::string(kEmptySha256) + "\n" +
                    std::string(data_sha256_hex);
  return hex(hmac_sha256(seed.signing_key, sts));
}

}  // namespace

struct Sha256Stream::Impl {
  EVP_MD_CTX* ctx = nullptr;
};

Sha256Stream::Sha256Stream() : impl_(std::make_unique<Impl>()) {
  impl_->ctx = EVP_MD_CTX_new();
  // Allocation failure or a missing provider: the process cannot hash at all.
  STAGELINE_CHECK(impl_->ctx != nullptr);
  STAGELINE_CHECK(EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr) == 1);
}

Sha256Stream::~Sha256Stream() { EVP_MD_CTX_free(impl_->ctx); }

void Sha256Stream::update(std::string_view data) {
  STAGELINE_CHECK(EVP_DigestUpdate(impl_->ctx, data.data(), data.size()) == 1);
}

std::string Sha256Stream::finish_hex() {
  Digest d{};
  unsigned int len = 0;
  STAGELINE_CHECK(EVP_DigestFinal_ex(impl_->ctx, d.data(), &len) == 1);
  STAGELINE_CHECK(len == d.size());
  return hex(d);
}

struct ChunkedPayloadDecoder::Impl {
  enum class State { kHeader, kData, kDataCr, kDataLf, kDone, kFailed };

  StreamingSeed seed;
  Sink sink;
  State state = State::kHeader;
  std::string line;     // the chunk header being read
  uint64_t left = 0;    // bytes of the current chunk's data still to come
  uint64_t size = 0;    // the current chunk's size
  std::string claimed;  // the current chunk's signature
  std::string previous;
  std::unique_ptr<Sha256Stream> hash;
  uint64_t decoded = 0;
  Status error;

  Status fail(Status s) {
    state = State::kFailed;
    error = s;
    return s;
  }

  Status header_done() {
    // "<hex size>;chunk-signature=<sig>"
    size_t semi = line.find(';');
    constexpr std::string_view kSig = "chunk-signature=";
    if (semi == std::string::npos || line.compare(semi + 1, kSig.size(), kSig) != 0) {
      return fail(
          Status::invalid("IncompleteBody: malformed aws-chunked header " + quote(line, 80)));
    }
    uint64_t n = 0;
    auto [end, ec] = std::from_chars(line.data(), line.data() + semi, n, 16);
    if (ec != std::errc() || end != line.data() + semi || semi == 0) {
      return fail(Status::invalid("IncompleteBody: malformed chunk size in " + quote(line, 80)));
    }
    claimed = to_lower(line.substr(semi + 1 + kSig.size()));
    if (claimed.size() != 64) {
      return fail(
          Status::invalid("IncompleteBody: malformed chunk signature in " + quote(line, 80)));
    }
    size = left = n;
    hash = std::make_unique<Sha256Stream>();
    line.clear();
    state = State::kData;
    if (left == 0) return chunk_done();
    return {};
  }

  Status chunk_done() {
    std::string expected = chunk_signature(seed, previous, hash->finish_hex());
    if (!constant_time_equals(expected, claimed)) {
      return fail(Status::invalid(
          "SignatureDoesNotMatch: The request signature we calculated does not match the "
          "signature you provided (chunk " +
          std::to_string(decoded) + " bytes into the body)."));
    }
    previous = expected;
    if (size == 0) {
      // The final chunk: "0;chunk-signature=...\r\n\r\n".
      state = State::kDataCr;
      return {};
    }
    state = State::kDataCr;
    return {};
  }
};

ChunkedPayloadDecoder::ChunkedPayloadDecoder(StreamingSeed seed, Sink sink)
    : impl_(std::make_unique<Impl>()) {
  impl_->previous = seed.seed_signature;
  impl_->seed = std::move(seed);
  impl_->sink = std::move(sink);
}

ChunkedPayloadDecoder::~ChunkedPayloadDecoder() = default;

Status ChunkedPayloadDecoder::feed(std::string_view bytes) {
  Impl& d = *impl_;
  using State = Impl::State;
  while (!bytes.empty()) {
    switch (d.state) {
      case State::kFailed:
        return d.error;
      case State::kDone:
        return d.fail(Status::invalid("IncompleteBody: data after the final aws-chunked chunk"));
      case State::kHeader: {
        size_t nl = bytes.find('\n');
        std::string_view part = bytes.substr(0, nl);
        d.line.append(part);
        if (d.line.size() > kMaxHeaderLine) {
          return d.fail(Status::invalid("IncompleteBody: an aws-chunked header line is too long"));
        }
        if (nl == std::string_view::npos) return {};
        bytes.remove_prefix(nl + 1);
        if (d.line.empty() || d.line.back() != '\r') {
          return d.fail(Status::invalid("IncompleteBody: an aws-chunked header must end in CRLF"));
        }
        d.line.pop_back();
        if (auto s = d.header_done(); !s.ok()) return s;
        break;
      }
      case State::kData: {
        size_t n = static_cast<size_t>(std::min<uint64_t>(d.left, bytes.size()));
        std::string_view data = bytes.substr(0, n);
        d.hash->update(data);
        if (auto s = d.sink(data); !s.ok()) return d.fail(s);
        d.decoded += n;
        d.left -= n;
        bytes.remove_prefix(n);
        if (d.left == 0) {
          if (auto s = d.chunk_done(); !s.ok()) return s;
        }
        break;
      }
      case State::kDataCr:
      case State::kDataLf: {
        char want = d.state == State::kDataCr ? '\r' : '\n';
        if (bytes.front() != want) {
          return d.fail(Status::invalid("IncompleteBody: an aws-chunked chunk must end in CRLF"));
        }
        bytes.remove_prefix(1);
        if (d.state == State::kDataCr) {
          d.state = State::kDataLf;
        } else {
          d.state = d.size == 0 ? State::kDone : State::kHeader;
        }
        break;
      }
    }
  }
  return d.state == State::kFailed ? d.error : Status();
}

Status ChunkedPayloadDecoder::finish() const {
  if (impl_->state == Impl::State::kFailed) return impl_->error;
  if (impl_->state != Impl::State::kDone) {
    return Status::invalid(
        "IncompleteBody: the aws-chunked body ended before its final zero-length chunk");
  }
  return {};
}

uint64_t ChunkedPayloadDecoder::decoded_bytes() const { return impl_->decoded; }

std::string encode_chunked(const StreamingSeed& seed, std::string_view data, size_t chunk_size) {
  STAGELINE_CHECK(chunk_size > 0);
  std::string out;
  std::string previous = seed.seed_signature;
  for (size_t at = 0;; at += chunk_size) {
    std::string_view chunk = data.substr(std::min(at, data.size()), chunk_size);
    std::string sig = chunk_signature(seed, previous, sha256_hex(chunk));
    char size[24];
    std::snprintf(size, sizeof size, "%zx", chunk.size());
    out += size;
    out += ";chunk-signature=" + sig + "\r\n";
    out += chunk;
    out += "\r\n";
    previous = sig;
    if (chunk.empty()) return out;
  }
}

}  // namespace stageline::api::sigv4
