#include "api/sigv4/chunked.h"

#include <gtest/gtest.h>

#include "api/sigv4/canonical.h"
#include "api/sigv4/crypto.h"

namespace stageline::api::sigv4 {
namespace {

// The worked example of AWS's "Signature Calculations for the Authorization
// Header: Transferring Payload in Multiple Chunks" (S3 API reference,
// sigv4-streaming): a PUT of 66,560 bytes of 'a' in chunks of 64 KiB.
constexpr char kDocId[] = "AKIAIOSFODNN7EXAMPLE";
constexpr char kDocSecret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr char kDocSeed[] = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
constexpr char kDocChunk1[] = "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648";
constexpr char kDocChunk2[] = "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497";
constexpr char kDocFinal[] = "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9";

std::string key_bytes(const Digest& d) {
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

StreamingSeed doc_seed() {
  return StreamingSeed{"20130524T000000Z", "20130524/us-east-1/s3/aws4_request", kDocSeed,
                       key_bytes(signing_key(kDocSecret, "20130524", "us-east-1", "s3"))};
}

std::string doc_body() {
  std::string data(66560, 'a');
  return "10000;chunk-signature=" + std::string(kDocChunk1) + "\r\n" + data.substr(0, 65536) +
         "\r\n" + "400;chunk-signature=" + kDocChunk2 + "\r\n" + data.substr(65536) + "\r\n" +
         "0;chunk-signature=" + kDocFinal + "\r\n\r\n";
}

HttpRequest doc_request() {
  return HttpRequest{
      "PUT",
      "/examplebucket/chunkObject.txt",
      {
          {"Host", "s3.amazonaws.com"},
          {"x-amz-date", "20130524T000000Z"},
          {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
          {"Authorization",
           "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
           "SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
           "x-amz-decoded-content-length;x-amz-storage-class,Signature=" +
               std::string(kDocSeed)},
          {"x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"},
          {"Content-Encoding", "aws-chunked"},
          {"x-amz-decoded-content-length", "66560"},
          {"Content-Length", "66824"},
      },
      doc_body()};
}

Result<std::string> decode(const StreamingSeed& seed, std::string_view body, size_t piece) {
  std::string out;
  ChunkedPayloadDecoder decoder(seed, [&](std::string_view data) {
    out.append(data);
    return Status();
  });
  for (size_t at = 0; at < body.size(); at += piece) {
    if (auto s = decoder.feed(body.substr(at, piece)); !s.ok()) return s;
  }
  if (auto s = decoder.finish(); !s.ok()) return s;
  EXPECT_EQ(decoder.decoded_bytes(), out.size());
  return out;
}

TEST(ChunkedPayload, AwsDocumentedExampleHasTheDocumentedSizeAndVerifiesWhateverTheReadSizes) {
  ASSERT_EQ(doc_body().size(), 66824u);
  for (size_t piece : {size_t{1}, size_t{7}, size_t{4096}, size_t{1} << 20}) {
    auto out = decode(doc_seed(), doc_body(), piece);
    ASSERT_TRUE(out.ok()) << out.status().message();
    EXPECT_EQ(*out, std::string(66560, 'a'));
  }
}

TEST(ChunkedPayload, VerifierAcceptsTheDocumentedSeedAndHandsBackTheSeedForTheChunks) {
  InMemoryKeySource keys;
  keys.put(Key{kDocId, kDocSecret, "arn:aws:iam::000000000000:user/admin", true});
  VerifierOptions options;
  options.services = {"s3"};
  options.clock = [] { return *parse_amz_date("20130524T000500Z"); };
  Verifier verifier(options, keys);
  HttpRequest request = doc_request();
  auto auth = verifier.verify(request.view(), "s3");
  ASSERT_TRUE(auth.ok()) << auth.failure().message << "\n" << auth.failure().detail;
  ASSERT_TRUE(auth.identity().streaming.has_value());
  const StreamingSeed& seed = *auth.identity().streaming;
  EXPECT_EQ(seed.seed_signature, kDocSeed);
  EXPECT_EQ(seed.scope, "20130524/us-east-1/s3/aws4_request");
  auto out = decode(seed, request.body, 1000);
  ASSERT_TRUE(out.ok()) << out.status().message();
}

TEST(ChunkedPayload, EncoderReproducesTheDocumentedBody) {
  EXPECT_EQ(encode_chunked(doc_seed(), std::string(66560, 'a'), 65536), doc_body());
}

TEST(ChunkedPayload, RejectsAChangedByteInAChunk) {
  std::string body = doc_body();
  body[100] = 'b';
  auto out = decode(doc_seed(), body, 4096);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().message().rfind("SignatureDoesNotMatch:", 0), 0u)
      << out.status().message();
}

TEST(ChunkedPayload, RejectsChunksChainedFromAnotherSeedSignature) {
  StreamingSeed seed = doc_seed();
  seed.seed_signature[0] = seed.seed_signature[0] == '0' ? '1' : '0';
  auto out = decode(seed, doc_body(), 4096);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("SignatureDoesNotMatch"), std::string::npos);
}

TEST(ChunkedPayload, RejectsABodyCutBeforeTheFinalChunk) {
  std::string body = doc_body();
  body.resize(body.size() - 90);
  auto out = decode(doc_seed(), body, 4096);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("IncompleteBody"), std::string::npos);
}

TEST(ChunkedPayload, RejectsADroppedMiddleChunkAndGarbageFraming) {
  StreamingSeed seed = doc_seed();
  std::string two = encode_chunked(seed, "hello world", 5);  // "hello", " worl", "d", ""
  size_t second = two.find("5;chunk-signature", 10);
  size_t third = two.find("1;chunk-signature");
  std::string dropped = two.substr(0, second) + two.substr(third);
  EXPECT_FALSE(decode(seed, dropped, 3).ok());
  EXPECT_FALSE(decode(seed, "zz;chunk-signature=00\r\n", 3).ok());
  EXPECT_FALSE(decode(seed, two + "x", 3).ok());
  auto round = decode(seed, two, 2);
  ASSERT_TRUE(round.ok()) << round.status().message();
  EXPECT_EQ(*round, "hello world");
}

TEST(Sha256Stream, PiecesHashLikeTheWhole) {
  Sha256Stream h;
  h.update("hello ");
  h.update("world");
  EXPECT_EQ(h.finish_hex(), sha256_hex("hello world"));
}

}  // namespace
}  // namespace stageline::api::sigv4
