#include "api/s3/s3_api.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "api/s3/xml.h"
#include "api/sigv4/chunked.h"
#include "api/sigv4/crypto.h"

namespace stageline::api::s3 {
namespace {

namespace fs = std::filesystem;
using sigv4::HttpRequest;

constexpr char kId[] = "AKIDS3TEST";
constexpr char kSecret[] = "s3-test-secret";
constexpr char kHost[] = "127.0.0.1:7300";

std::string md5_hex(std::string_view data) {
  unsigned char d[16];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), d, &len, EVP_md5(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : d) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

std::string header_of(const http::Response& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "";
}

// The bytes a response carries: its body, or its file range.
std::string content_of(const http::Response& r) {
  if (!r.file) return r.body;
  std::string out(r.file->length(), '\0');
  ssize_t n = ::pread(r.file->fd(), out.data(), out.size(), static_cast<off_t>(r.file->offset()));
  EXPECT_EQ(n, static_cast<ssize_t>(out.size()));
  return out;
}

std::string error_code(const http::Response& r) {
  auto doc = xml::parse(r.body);
  if (!doc.ok() || doc->name != "Error") return "(not an S3 error: " + r.body + ")";
  return doc->child_text("Code");
}

class S3ApiTest : public ::testing::Test {
 protected:
  S3ApiTest() {
    dir_ = fs::temp_directory_path() /
           ("s3_api_test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::create_directories(dir_ / "scratch");
    artifacts::ObjectStoreOptions options;
    options.root = dir_ / "objects";
    options.min_part_bytes = 10;
    auto opened = artifacts::ObjectStore::open(options);
    EXPECT_TRUE(opened.ok());
    store_ = std::move(opened.value());
    keys_.put(sigv4::Key{kId, kSecret, "arn:aws:iam::000000000000:user/admin", true});
    sigv4::VerifierOptions verifier_options;
    verifier_options.services = {"s3"};
    verifier_ = std::make_unique<sigv4::Verifier>(verifier_options, keys_);
    S3Options s3_options;
    s3_options.scratch_dir = dir_ / "scratch";
    api_ = std::make_unique<S3Api>(*store_, *verifier_, s3_options);
  }
  ~S3ApiTest() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  http::Request signed_request(std::string method, std::string target, std::string body = {},
                               std::vector<sigv4::Header> extra = {},
                               const char* secret = kSecret) {
    HttpRequest r{std::move(method), std::move(target), {{"Host", kHost}}, std::move(body)};
    for (auto& h : extra) r.headers.push_back(h);
    EXPECT_TRUE(sigv4::sign(r, sigv4::Key{kId, secret, "", true}, "us-east-1", "s3",
                            std::chrono::system_clock::now())
                    .ok());
    return http::Request{r.method, r.target, "127.0.0.1:1", "req-1", r.headers, r.body, ""};
  }

  http::Response call(std::string method, std::string target, std::string body = {},
                      std::vector<sigv4::Header> extra = {}) {
    return api_->handle(
        signed_request(std::move(method), std::move(target), std::move(body), std::move(extra)));
  }

  void make_bucket(const std::string& name) {
    auto r = call("PUT", "/" + name);
    ASSERT_EQ(r.status, 200) << r.body;
  }

  static inline int counter_ = 0;
  fs::path dir_;
  std::unique_ptr<artifacts::ObjectStore> store_;
  sigv4::InMemoryKeySource keys_;
  std::unique_ptr<sigv4::Verifier> verifier_;
  std::unique_ptr<S3Api> api_;
};

TEST_F(S3ApiTest, BucketsAreCreatedListedHeadedAndDeletedWithS3Errors) {
  make_bucket("alpha");
  auto again = call("PUT", "/alpha");
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(error_code(again), "BucketAlreadyOwnedByYou");
  EXPECT_EQ(error_code(call("PUT", "/Bad_Name")), "InvalidBucketName");

  auto list = call("GET", "/");
  ASSERT_EQ(list.status, 200);
  auto doc = xml::parse(list.body);
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(doc->name, "ListAllMyBucketsResult");
  ASSERT_NE(doc->child("Buckets"), nullptr);
  EXPECT_EQ(doc->child("Buckets")->child("Bucket")->child_text("Name"), "alpha");

  EXPECT_EQ(call("HEAD", "/alpha").status, 200);
  auto missing = call("HEAD", "/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_TRUE(missing.body.empty());
  EXPECT_EQ(error_code(call("GET", "/nope?list-type=2")), "NoSuchBucket");

  ASSERT_EQ(call("PUT", "/alpha/k", "x").status, 200);
  auto not_empty = call("DELETE", "/alpha");
  EXPECT_EQ(not_empty.status, 409);
  EXPECT_EQ(error_code(not_empty), "BucketNotEmpty");
  EXPECT_EQ(call("DELETE", "/alpha/k").status, 204);
  EXPECT_EQ(call("DELETE", "/alpha").status, 204);
}

TEST_F(S3ApiTest, ObjectsKeepContentTypeAndUserMetadataAndServeRangesAndConditions) {
  make_bucket("bkt");
  auto put = call("PUT", "/bkt/dir/hello%20world.txt", "0123456789",
                  {{"Content-Type", "text/plain"}, {"x-amz-meta-Owner", "team-a"}});
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(header_of(put, "ETag"), "\"" + md5_hex("0123456789") + "\"");

  auto get = call("GET", "/bkt/dir/hello%20world.txt");
  ASSERT_EQ(get.status, 200) << get.body;
  EXPECT_EQ(content_of(get), "0123456789");
  EXPECT_EQ(header_of(get, "Content-Type"), "text/plain");
  EXPECT_EQ(header_of(get, "x-amz-meta-owner"), "team-a");
  EXPECT_EQ(header_of(get, "x-amz-version-id"), "");  // versioning never enabled

  auto range = call("GET", "/bkt/dir/hello%20world.txt", {}, {{"Range", "bytes=2-4"}});
  EXPECT_EQ(range.status, 206);
  EXPECT_EQ(content_of(range), "234");
  EXPECT_EQ(header_of(range, "Content-Range"), "bytes 2-4/10");
  EXPECT_EQ(content_of(call("GET", "/bkt/dir/hello%20world.txt", {}, {{"Range", "bytes=-3"}})),
            "789");
  EXPECT_EQ(content_of(call("GET", "/bkt/dir/hello%20world.txt", {}, {{"Range", "bytes=7-"}})),
            "789");
  EXPECT_EQ(call("GET", "/bkt/dir/hello%20world.txt", {}, {{"Range", "bytes=10-"}}).status, 416);

  auto head = call("HEAD", "/bkt/dir/hello%20world.txt");
  EXPECT_EQ(head.status, 200);
  ASSERT_TRUE(head.file);
  EXPECT_EQ(head.file->length(), 10u);
  EXPECT_EQ(head.file->fd(), -1);  // announces the length, sends nothing

  std::string etag = header_of(put, "ETag");
  EXPECT_EQ(call("GET", "/bkt/dir/hello%20world.txt", {}, {{"If-None-Match", etag}}).status, 304);
  EXPECT_EQ(call("GET", "/bkt/dir/hello%20world.txt", {}, {{"If-Match", "\"other\""}}).status, 412);

  auto missing = call("GET", "/bkt/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(error_code(missing), "NoSuchKey");
}

TEST_F(S3ApiTest, AWrongSecretGetsSignatureDoesNotMatchAsS3Xml) {
  make_bucket("bkt");
  auto r = api_->handle(signed_request("GET", "/bkt?list-type=2", {}, {}, "wrong-secret"));
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(error_code(r), "SignatureDoesNotMatch");
  EXPECT_EQ(header_of(r, "Content-Type"), "application/xml");
  http::Request unsigned_request{"GET", "/bkt", "p", "req", {{"Host", kHost}}, "", ""};
  EXPECT_EQ(error_code(api_->handle(unsigned_request)), "AccessDenied");
}

TEST_F(S3ApiTest, APayloadChangedAfterSigningIsRefused) {
  make_bucket("bkt");
  http::Request r = signed_request("PUT", "/bkt/k", "original");
  r.body = "tampered";
  EXPECT_EQ(error_code(api_->handle(r)), "XAmzContentSHA256Mismatch");
}

TEST_F(S3ApiTest, ASpooledBodyIsVerifiedAgainstItsFileAndStored) {
  make_bucket("bkt");
  std::string content(100000, 'z');
  http::Request r = signed_request("PUT", "/bkt/big", content);
  fs::path file = dir_ / "spooled";
  std::ofstream(file, std::ios::binary) << content;
  r.body.clear();
  r.body_file = file.string();
  ASSERT_EQ(api_->handle(r).status, 200);
  EXPECT_EQ(content_of(call("GET", "/bkt/big")), content);

  http::Request bad = signed_request("PUT", "/bkt/big2", content);
  std::ofstream(file, std::ios::binary | std::ios::trunc) << content << "!";
  bad.body.clear();
  bad.body_file = file.string();
  EXPECT_EQ(error_code(api_->handle(bad)), "XAmzContentSHA256Mismatch");
}

TEST_F(S3ApiTest, StreamingChunkedUploadsAreDecodedAndEveryChunkIsVerified) {
  make_bucket("bkt");
  std::string content = "The quick brown fox jumps over the lazy dog, twice or more. ";
  for (int i = 0; i < 5; ++i) content += content;
  auto make = [&](bool tamper) {
    HttpRequest r{"PUT",
                  "/bkt/streamed",
                  {{"Host", kHost},
                   {"Content-Encoding", "aws-chunked"},
                   {"x-amz-decoded-content-length", std::to_string(content.size())}},
                  ""};
    auto now = std::chrono::system_clock::now();
    EXPECT_TRUE(sigv4::sign_with_payload_hash(r, sigv4::Key{kId, kSecret, "", true}, "us-east-1",
                                              "s3", now, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
                    .ok());
    std::string amz_date, seed;
    for (const auto& [k, v] : r.headers) {
      if (k == "X-Amz-Date") amz_date = v;
      if (k == "Authorization") seed = v.substr(v.find("Signature=") + 10);
    }
    auto k = sigv4::signing_key(kSecret, amz_date.substr(0, 8), "us-east-1", "s3");
    sigv4::StreamingSeed s{amz_date, amz_date.substr(0, 8) + "/us-east-1/s3/aws4_request", seed,
                           std::string(reinterpret_cast<const char*>(k.data()), k.size())};
    r.body = sigv4::encode_chunked(s, content, 100);
    if (tamper) r.body[r.body.find("fox")] = 'b';
    return http::Request{r.method, r.target, "p", "req", r.headers, r.body, ""};
  };
  auto ok = api_->handle(make(false));
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(content_of(call("GET", "/bkt/streamed")), content);
  EXPECT_EQ(header_of(ok, "ETag"), "\"" + md5_hex(content) + "\"");

  auto bad = api_->handle(make(true));
  EXPECT_EQ(bad.status, 403);
  EXPECT_EQ(error_code(bad), "SignatureDoesNotMatch");
}

TEST_F(S3ApiTest, MultipartUploadsCompleteWithS3sMultipartEtag) {
  make_bucket("bkt");
  auto created = call("POST", "/bkt/multi?uploads", {}, {{"Content-Type", "application/zip"}});
  ASSERT_EQ(created.status, 200) << created.body;
  std::string upload_id = xml::parse(created.body)->child_text("UploadId");
  ASSERT_FALSE(upload_id.empty());

  std::string p1(20, 'a'), p2(5, 'b');
  auto u1 = call("PUT", "/bkt/multi?partNumber=1&uploadId=" + upload_id, p1);
  auto u2 = call("PUT", "/bkt/multi?partNumber=2&uploadId=" + upload_id, p2);
  ASSERT_EQ(u1.status, 200) << u1.body;
  ASSERT_EQ(u2.status, 200) << u2.body;
  EXPECT_EQ(header_of(u1, "ETag"), "\"" + md5_hex(p1) + "\"");

  auto parts = call("GET", "/bkt/multi?uploadId=" + upload_id);
  ASSERT_EQ(parts.status, 200);
  EXPECT_EQ(xml::parse(parts.body)->all("Part").size(), 2u);
  auto uploads = call("GET", "/bkt?uploads");
  EXPECT_EQ(xml::parse(uploads.body)->all("Upload").size(), 1u);

  auto bad_part = call("POST", "/bkt/multi?uploadId=" + upload_id,
                       "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"ffff\""
                       "</ETag></Part></CompleteMultipartUpload>");
  EXPECT_EQ(error_code(bad_part), "InvalidPart");

  std::string complete = "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>" +
                         header_of(u1, "ETag") + "</ETag></Part><Part><PartNumber>2</PartNumber>" +
                         "<ETag>" + header_of(u2, "ETag") +
                         "</ETag></Part></CompleteMultipartUpload>";
  auto done = call("POST", "/bkt/multi?uploadId=" + upload_id, complete);
  ASSERT_EQ(done.status, 200) << done.body;
  std::string binary;
  for (const std::string& hex : {md5_hex(p1), md5_hex(p2)})
    for (size_t i = 0; i < hex.size(); i += 2)
      binary += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  EXPECT_EQ(xml::parse(done.body)->child_text("ETag"), "\"" + md5_hex(binary) + "-2\"");
  auto get = call("GET", "/bkt/multi");
  EXPECT_EQ(content_of(get), p1 + p2);
  EXPECT_EQ(header_of(get, "ETag"), "\"" + md5_hex(binary) + "-2\"");
  EXPECT_EQ(header_of(get, "Content-Type"), "application/zip");

  EXPECT_EQ(error_code(call("POST", "/bkt/multi?uploadId=" + upload_id, complete)), "NoSuchUpload");
}

TEST_F(S3ApiTest, MultipartRefusesASmallPartBeforeTheLastAndAbortRemovesTheUpload) {
  make_bucket("bkt");
  std::string id = xml::parse(call("POST", "/bkt/m?uploads").body)->child_text("UploadId");
  auto u1 = call("PUT", "/bkt/m?partNumber=1&uploadId=" + id, "tiny");
  auto u2 = call("PUT", "/bkt/m?partNumber=2&uploadId=" + id, "tiny");
  std::string complete = "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>" +
                         header_of(u1, "ETag") + "</ETag></Part><Part><PartNumber>2</PartNumber>" +
                         "<ETag>" + header_of(u2, "ETag") +
                         "</ETag></Part></CompleteMultipartUpload>";
  EXPECT_EQ(error_code(call("POST", "/bkt/m?uploadId=" + id, complete)), "EntityTooSmall");
  EXPECT_EQ(call("DELETE", "/bkt/m?uploadId=" + id).status, 204);
  EXPECT_EQ(error_code(call("GET", "/bkt/m?uploadId=" + id)), "NoSuchUpload");
  EXPECT_EQ(error_code(call("PUT", "/bkt/m?partNumber=1&uploadId=" + id, "x")), "NoSuchUpload");
}

TEST_F(S3ApiTest, VersionedBucketsKeepVersionsAndDeleteWithMarkers) {
  make_bucket("vkt");
  EXPECT_EQ(xml::parse(call("GET", "/vkt?versioning").body)->child("Status"), nullptr);
  ASSERT_EQ(call("PUT", "/vkt?versioning",
                 "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>")
                .status,
            200);
  EXPECT_EQ(xml::parse(call("GET", "/vkt?versioning").body)->child_text("Status"), "Enabled");
  auto first = call("PUT", "/vkt/k", "one");
  auto second = call("PUT", "/vkt/k", "two");
  std::string v1 = header_of(first, "x-amz-version-id"), v2 = header_of(second, "x-amz-version-id");
  ASSERT_FALSE(v1.empty());
  ASSERT_NE(v1, v2);
  EXPECT_EQ(content_of(call("GET", "/vkt/k")), "two");
  EXPECT_EQ(content_of(call("GET", "/vkt/k?versionId=" + v1)), "one");

  auto deleted = call("DELETE", "/vkt/k");
  EXPECT_EQ(deleted.status, 204);
  EXPECT_EQ(header_of(deleted, "x-amz-delete-marker"), "true");
  auto gone = call("GET", "/vkt/k");
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(header_of(gone, "x-amz-delete-marker"), "true");
  EXPECT_EQ(content_of(call("GET", "/vkt/k?versionId=" + v1)), "one");

  auto versions = xml::parse(call("GET", "/vkt?versions").body);
  ASSERT_TRUE(versions.ok());
  EXPECT_EQ(versions->all("Version").size(), 2u);
  ASSERT_EQ(versions->all("DeleteMarker").size(), 1u);
  EXPECT_EQ(versions->all("DeleteMarker")[0]->child_text("IsLatest"), "true");

  // Removing the marker brings the object back.
  std::string marker = header_of(deleted, "x-amz-version-id");
  EXPECT_EQ(call("DELETE", "/vkt/k?versionId=" + marker).status, 204);
  EXPECT_EQ(content_of(call("GET", "/vkt/k")), "two");
  EXPECT_EQ(error_code(call("GET", "/vkt/k?versionId=00000000000000000000000f")), "NoSuchVersion");
}

TEST_F(S3ApiTest, SuspendingVersioningLosesNoVersion) {
  make_bucket("skt");
  call("PUT", "/skt?versioning",
       "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>");
  std::string v1 = header_of(call("PUT", "/skt/k", "one"), "x-amz-version-id");
  ASSERT_EQ(call("PUT", "/skt?versioning",
                 "<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>")
                .status,
            200);
  call("PUT", "/skt/k", "two");
  EXPECT_EQ(call("DELETE", "/skt/k").status, 204);
  EXPECT_EQ(content_of(call("GET", "/skt/k?versionId=" + v1)), "one");
  auto versions = xml::parse(call("GET", "/skt?versions").body);
  EXPECT_EQ(versions->all("Version").size(), 2u);
  EXPECT_EQ(versions->all("DeleteMarker").size(), 1u);
  EXPECT_EQ(
      error_code(call("PUT", "/skt?versioning",
                      "<VersioningConfiguration><Status>Off</Status></VersioningConfiguration>")),
      "IllegalVersioningConfigurationException");
}

TEST_F(S3ApiTest, UnversionedPutsReplaceTheObject) {
  make_bucket("ukt");
  call("PUT", "/ukt/k", "one");
  call("PUT", "/ukt/k", "two");
  auto versions = xml::parse(call("GET", "/ukt?versions").body);
  ASSERT_EQ(versions->all("Version").size(), 1u);
  EXPECT_EQ(versions->all("Version")[0]->child_text("VersionId"), "null");
}

TEST_F(S3ApiTest, ListObjectsV2RollsUpCommonPrefixesAndPages) {
  make_bucket("bkt");
  for (const char* k : {"a/1", "a/2", "b/1", "c", "d"}) call("PUT", std::string("/bkt/") + k, "x");
  auto page = xml::parse(call("GET", "/bkt?list-type=2&delimiter=%2F").body);
  ASSERT_TRUE(page.ok());
  auto prefixes = page->all("CommonPrefixes");
  ASSERT_EQ(prefixes.size(), 2u);
  EXPECT_EQ(prefixes[0]->child_text("Prefix"), "a/");
  EXPECT_EQ(prefixes[1]->child_text("Prefix"), "b/");
  ASSERT_EQ(page->all("Contents").size(), 2u);
  EXPECT_EQ(page->child_text("KeyCount"), "4");

  std::vector<std::string> keys;
  std::string token;
  for (int i = 0; i < 10; ++i) {
    auto p = xml::parse(call("GET", "/bkt?list-type=2&max-keys=2" +
                                        (token.empty() ? "" : "&continuation-token=" + token))
                            .body);
    for (const auto* c : p->all("Contents")) keys.push_back(c->child_text("Key"));
    token = p->child_text("NextContinuationToken");
    if (p->child_text("IsTruncated") != "true") break;
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"a/1", "a/2", "b/1", "c", "d"}));

  auto under_a = xml::parse(call("GET", "/bkt?list-type=2&prefix=a%2F").body);
  EXPECT_EQ(under_a->all("Contents").size(), 2u);
  auto after = xml::parse(call("GET", "/bkt?list-type=2&start-after=b%2F1").body);
  EXPECT_EQ(after->all("Contents").size(), 2u);
  auto v1 = xml::parse(call("GET", "/bkt?prefix=a").body);
  EXPECT_EQ(v1->all("Contents").size(), 2u);
}

TEST_F(S3ApiTest, DeleteObjectsReportsEachKey) {
  make_bucket("bkt");
  call("PUT", "/bkt/one", "1");
  call("PUT", "/bkt/two", "2");
  auto r = call("POST", "/bkt?delete",
                "<Delete><Object><Key>one</Key></Object><Object><Key>two</Key></Object>"
                "<Object><Key>absent</Key></Object></Delete>");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(xml::parse(r.body)->all("Deleted").size(), 3u);
  EXPECT_EQ(error_code(call("GET", "/bkt/one")), "NoSuchKey");
  EXPECT_EQ(error_code(call("POST", "/bkt?delete", "<Delete><Object>")), "MalformedXML");
}

TEST_F(S3ApiTest, CopyObjectCopiesContentAndMetadata) {
  make_bucket("bkt");
  make_bucket("ckt");
  call("PUT", "/bkt/src", "payload", {{"Content-Type", "text/x"}, {"x-amz-meta-a", "1"}});
  auto r = call("PUT", "/ckt/dst", {}, {{"x-amz-copy-source", "bkt/src"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(xml::parse(r.body)->child_text("ETag"), "\"" + md5_hex("payload") + "\"");
  auto get = call("GET", "/ckt/dst");
  EXPECT_EQ(content_of(get), "payload");
  EXPECT_EQ(header_of(get, "x-amz-meta-a"), "1");
  EXPECT_EQ(error_code(call("PUT", "/ckt/x", {}, {{"x-amz-copy-source", "/bkt/absent"}})),
            "NoSuchKey");
}

TEST_F(S3ApiTest, PresignedUrlsAndVirtualHostAddressingWork) {
  make_bucket("bkt");
  call("PUT", "/bkt/k", "hi");
  sigv4::PresignRequest p;
  p.target = "/bkt/k";
  p.host = kHost;
  auto target =
      sigv4::presign(p, sigv4::Key{kId, kSecret, "", true}, std::chrono::system_clock::now());
  ASSERT_TRUE(target.ok());
  http::Request get{"GET", *target, "p", "req", {{"Host", kHost}}, "", ""};
  auto r = api_->handle(get);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(content_of(r), "hi");

  HttpRequest vh{"GET", "/k", {{"Host", "bkt.localhost:7300"}}, ""};
  ASSERT_TRUE(sigv4::sign(vh, sigv4::Key{kId, kSecret, "", true}, "us-east-1", "s3",
                          std::chrono::system_clock::now())
                  .ok());
  auto vr = api_->handle(http::Request{vh.method, vh.target, "p", "req", vh.headers, "", ""});
  ASSERT_EQ(vr.status, 200) << vr.body;
  EXPECT_EQ(content_of(vr), "hi");
}

TEST_F(S3ApiTest, LifecycleAndEncryptionConfigurationsAreStoredAndReturned) {
  make_bucket("bkt");
  EXPECT_EQ(error_code(call("GET", "/bkt?lifecycle")), "NoSuchLifecycleConfiguration");
  EXPECT_EQ(error_code(call("GET", "/bkt?encryption")),
            "ServerSideEncryptionConfigurationNotFoundError");
  std::string lifecycle =
      "<LifecycleConfiguration><Rule><ID>r</ID><Status>Enabled</Status><Filter><Prefix/></Filter>"
      "<Expiration><Days>30</Days></Expiration></Rule></LifecycleConfiguration>";
  ASSERT_EQ(call("PUT", "/bkt?lifecycle", lifecycle).status, 200);
  EXPECT_EQ(call("GET", "/bkt?lifecycle").body, lifecycle);
  std::string sse =
      "<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault>"
      "<SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule>"
      "</ServerSideEncryptionConfiguration>";
  ASSERT_EQ(call("PUT", "/bkt?encryption", sse).status, 200);
  EXPECT_EQ(call("GET", "/bkt?encryption").body, sse);
  EXPECT_EQ(call("DELETE", "/bkt?lifecycle").status, 204);
  EXPECT_EQ(error_code(call("GET", "/bkt?lifecycle")), "NoSuchLifecycleConfiguration");
  EXPECT_EQ(error_code(call("PUT", "/bkt?lifecycle", "<Wrong/>")), "MalformedXML");
}

}  // namespace
}  // namespace stageline::api::s3

namespace stageline::api::s3 {
namespace {

// Seals by prefixing "SEALED:"; unseals such objects into an anonymous
// file, and hands plain ones back as they are.
class PrefixCipher final : public artifacts::ObjectCipher {
 public:
  std::string_view name() const override { return "prefix"; }
  Result<artifacts::UniqueFd> seal(const artifacts::CipherContext&, artifacts::UniqueFd plain,
                                   const fs::path&) override {
    return plain;
  }
  Result<artifacts::UniqueFd> unseal(const artifacts::CipherContext& context,
                                     artifacts::UniqueFd stored, const fs::path& scratch) override {
    seen_keys.push_back(context.key);
    std::string all;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(stored.get(), buf, sizeof buf)) > 0) all.append(buf, static_cast<size_t>(n));
    if (all.rfind("SEALED:", 0) != 0) {
      ::lseek(stored.get(), 0, SEEK_SET);
      return stored;
    }
    std::string tmpl = (scratch / "plain-XXXXXX").string();
    int fd = ::mkstemp(tmpl.data());
    ::unlink(tmpl.c_str());
    std::string plain = all.substr(7);
    EXPECT_EQ(::write(fd, plain.data(), plain.size()), static_cast<ssize_t>(plain.size()));
    ::lseek(fd, 0, SEEK_SET);
    return artifacts::UniqueFd(fd);
  }
  std::vector<std::string> seen_keys;
};

TEST_F(S3ApiTest, SealedObjectsAreReadCopiedAndRangedAsTheirPlaintext) {
  make_bucket("enc");
  ASSERT_TRUE(store_->put_object("enc", "secret.txt", "SEALED:hello world").ok());
  ASSERT_TRUE(store_->put_object("enc", "plain.txt", "just text").ok());
  PrefixCipher cipher;
  S3Options options;
  options.scratch_dir = dir_ / "scratch";
  options.cipher = &cipher;
  api_ = std::make_unique<S3Api>(*store_, *verifier_, options);

  auto get = call("GET", "/enc/secret.txt");
  ASSERT_EQ(get.status, 200) << get.body;
  EXPECT_EQ(content_of(get), "hello world");
  EXPECT_EQ(cipher.seen_keys.back(), "secret.txt");
  auto range = call("GET", "/enc/secret.txt", {}, {{"Range", "bytes=6-"}});
  EXPECT_EQ(content_of(range), "world");
  EXPECT_EQ(header_of(range, "Content-Range"), "bytes 6-10/11");
  auto head = call("HEAD", "/enc/secret.txt");
  ASSERT_TRUE(head.file);
  EXPECT_EQ(head.file->length(), 11u);
  EXPECT_EQ(content_of(call("GET", "/enc/plain.txt")), "just text");

  auto copy = call("PUT", "/enc/copy.txt", {}, {{"x-amz-copy-source", "/enc/secret.txt"}});
  ASSERT_EQ(copy.status, 200) << copy.body;
  EXPECT_EQ(*store_->get_object("enc", "copy.txt"), "hello world")
      << "a sealed source is copied as its plaintext";
}

}  // namespace
}  // namespace stageline::api::s3
