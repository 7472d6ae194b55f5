// api/sigv4/chunked: the aws-chunked body of a request signed with
// X-Amz-Content-SHA256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD (S3 PutObject and
// UploadPart from SDKs that stream). The body is a series of chunks
//
//   <hex size>;chunk-signature=<64 hex>\r\n<size bytes>\r\n
//
// ending with a chunk of size 0. Each signature is
//   HMAC(signing key, "AWS4-HMAC-SHA256-PAYLOAD\n" + X-Amz-Date + "\n" + scope
//        + "\n" + previous signature + "\n" + hex(SHA-256("")) + "\n"
//        + hex(SHA-256(chunk data)))
// where the first "previous signature" is the seed signature of the
// Authorization header, so the chunks can be neither changed, reordered,
// dropped nor extended. Depends on base and libcrypto only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "api/sigv4/sigv4.h"
#include "base/status.h"

namespace stageline::api::sigv4 {

// SHA-256 over data fed in pieces (a body spooled to a file). Not
// thread-safe; one per hash.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void update(std::string_view data);
  // Lower-case hex. REQUIRES: called once, last.
  std::string finish_hex();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Decodes an aws-chunked body fed in pieces of any size, checking each
// chunk's signature when its last byte arrives. The decoded bytes go to the
// sink as they arrive, so a caller must not commit them until finish() is ok
// (the last chunk's signature is checked only at its end). Memory is bounded:
// only a chunk header line is buffered. Not thread-safe.
//
// Errors (kInvalidArgument) start with the S3 error code a client should get:
// "SignatureDoesNotMatch: ..." for a wrong chunk signature, "IncompleteBody:
// ..." for framing that is malformed or ends early.
class ChunkedPayloadDecoder {
 public:
  using Sink = std::function<Status(std::string_view)>;
  ChunkedPayloadDecoder(StreamingSeed seed, Sink sink);
  ~ChunkedPayloadDecoder();

  // Feeds the next bytes of the body. After an error, every call fails.
  Status feed(std::string_view bytes);
  // Ok when the final zero-length chunk was received and verified, and
  // nothing followed it.
  Status finish() const;
  // The decoded bytes so far (what x-amz-decoded-content-length must equal).
  uint64_t decoded_bytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Encodes `data` as an aws-chunked body with chunks of `chunk_size` bytes
// (the last may be shorter), signed from `seed`: what an SDK sends. For tests
// and clients. REQUIRES: chunk_size > 0.
std::string encode_chunked(const StreamingSeed& seed, std::string_view data, size_t chunk_size);

}  // namespace stageline::api::sigv4
