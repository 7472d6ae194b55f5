#include "kms/envelope_cipher.h"

#include <fcntl.h>
#include <unistd.h>

#include "kms/test_util.h"

namespace stageline::kms {
namespace {

using artifacts::CipherContext;
using artifacts::UniqueFd;
using testing::contains;
namespace fs = std::filesystem;

constexpr char kBucket[] = "artifacts";

class EnvelopeCipherTest : public testing::KeyRingFixture {
 protected:
  void SetUp() override {
    KeyRingFixture::SetUp();
    auto objects = artifacts::ObjectStore::open({dir_ / "objects"});
    ASSERT_TRUE(objects.ok()) << objects.status().message();
    objects_ = std::move(*objects);
    ASSERT_TRUE(objects_->create_bucket(kBucket).ok());
    fs::create_directories(scratch());
    key_ = make_key();
    // 16-byte segments: a few dozen bytes make several segments.
    cipher_ = std::make_unique<EnvelopeCipher>(*keys_, *objects_, EnvelopeCipherOptions{16});
  }

  fs::path scratch() const { return dir_ / "scratch"; }

  UniqueFd fd_of(const std::string& bytes) {
    fs::path p = scratch() / ("in" + std::to_string(files_++));
    int fd = ::open(p.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    EXPECT_EQ(::lseek(fd, 0, SEEK_SET), 0);
    return UniqueFd(fd);
  }

  static std::string read_all(const UniqueFd& fd) {
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd.get(), buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    return out;
  }

  CipherContext context(const std::string& key = "p/out/ABC1234") const {
    return {kBucket, key, key_.key_id};
  }

  Result<std::string> seal(const std::string& plain, const CipherContext& c) {
    auto sealed = cipher_->seal(c, fd_of(plain), scratch());
    if (!sealed.ok()) return sealed.status();
    return read_all(*sealed);
  }

  Result<std::string> unseal(const std::string& stored, const CipherContext& c) {
    auto plain = cipher_->unseal(c, fd_of(stored), scratch());
    if (!plain.ok()) return plain.status();
    return read_all(*plain);
  }

  // The offset where the segments start: after magic, version, segment
  // size, the ARN and the wrapped data key (docs/kms.md).
  static size_t header_size(const std::string& sealed) {
    size_t at = kEnvelopeMagic.size() + 1 + 4;
    size_t arn = (static_cast<uint8_t>(sealed[at]) << 8) | static_cast<uint8_t>(sealed[at + 1]);
    at += 2 + arn;
    size_t blob = (static_cast<uint8_t>(sealed[at]) << 8) | static_cast<uint8_t>(sealed[at + 1]);
    return at + 2 + blob;
  }

  std::unique_ptr<artifacts::ObjectStore> objects_;
  std::unique_ptr<EnvelopeCipher> cipher_;
  KeyMetadata key_;
  int files_ = 0;
};

TEST_F(EnvelopeCipherTest, RoundTripsEmptyOneByteAndMultiSegmentObjects) {
  std::string long_text;
  for (int i = 0; i < 100; ++i) long_text += static_cast<char>('a' + i % 26);
  for (std::string plain :
       {std::string(), std::string("x"), std::string(15, 'y'), std::string(16, 'z'),
        std::string(17, 'w'), std::string(48, 'v'), long_text}) {
    auto sealed = seal(plain, context());
    ASSERT_TRUE(sealed.ok()) << plain.size() << ": " << sealed.status().message();
    EXPECT_TRUE(sealed->starts_with(kEnvelopeMagic));
    size_t segments = plain.size() / 16 + 1 - (plain.size() % 16 == 0 && !plain.empty() ? 1 : 0);
    EXPECT_EQ(sealed->size(), header_size(*sealed) + plain.size() + 16 * segments) << plain.size();
    auto back = unseal(*sealed, context());
    ASSERT_TRUE(back.ok()) << plain.size() << ": " << back.status().message();
    EXPECT_EQ(*back, plain);
  }
}

TEST_F(EnvelopeCipherTest, TheStoredBytesNameTheKeyButHideThePlaintext) {
  std::string plain = "PK\x03\x04 the quick brown fox jumps over the lazy dog";
  auto sealed = seal(plain, context());
  ASSERT_TRUE(sealed.ok());
  EXPECT_TRUE(contains(*sealed, key_.arn));
  EXPECT_FALSE(contains(*sealed, "quick brown"));
  EXPECT_FALSE(contains(*sealed, "PK\x03\x04"));
  auto again = seal(plain, context());
  ASSERT_TRUE(again.ok());
  EXPECT_NE(*again, *sealed) << "a fresh data key per object";
}

TEST_F(EnvelopeCipherTest, AnyChangedByteOfHeaderOrSegmentsIsDetected) {
  auto sealed = seal(std::string(40, 'q'), context());
  ASSERT_TRUE(sealed.ok());
  for (size_t i = kEnvelopeMagic.size(); i < sealed->size(); ++i) {
    std::string bad = *sealed;
    bad[i] ^= 0x01;
    auto back = unseal(bad, context());
    EXPECT_FALSE(back.ok()) << "byte " << i;
  }
}

TEST_F(EnvelopeCipherTest, TruncationAndReorderingAreDetected) {
  auto sealed = seal(std::string(16, 'a') + std::string(16, 'b') + std::string(16, 'c'), context());
  ASSERT_TRUE(sealed.ok());
  const size_t h = header_size(*sealed);
  const size_t unit = 16 + 16;
  ASSERT_EQ(sealed->size(), h + 3 * unit);
  // Dropping the final segment (at a segment boundary), a byte, or all.
  for (size_t keep : {h + 2 * unit, h + unit, sealed->size() - 1, h, h - 1}) {
    auto back = unseal(sealed->substr(0, keep), context());
    ASSERT_FALSE(back.ok()) << keep;
    EXPECT_EQ(back.status().code(), StatusCode::kInvalidArgument) << back.status().message();
  }
  std::string swapped = sealed->substr(0, h) + sealed->substr(h + unit, unit) +
                        sealed->substr(h, unit) + sealed->substr(h + 2 * unit);
  EXPECT_FALSE(unseal(swapped, context()).ok());
  // An extra segment appended after the final one.
  EXPECT_FALSE(unseal(*sealed + sealed->substr(h, unit), context()).ok());
}

TEST_F(EnvelopeCipherTest, AnObjectCopiedToAnotherKeyOrBucketDoesNotUnseal) {
  auto sealed = seal("payload", context("p/out/ONE1111"));
  ASSERT_TRUE(sealed.ok());
  auto moved = unseal(*sealed, context("p/out/TWO2222"));
  ASSERT_FALSE(moved.ok());
  EXPECT_TRUE(contains(moved.status().message(), "p/out/TWO2222")) << moved.status().message();
  EXPECT_TRUE(contains(moved.status().message(), key_.arn)) << moved.status().message();
  CipherContext other_bucket{"elsewhere", "p/out/ONE1111", ""};
  EXPECT_FALSE(unseal(*sealed, other_bucket).ok());
}

TEST_F(EnvelopeCipherTest, APlainZipUnsealsUnchanged) {
  std::string zip = std::string("PK\x05\x06", 4) + std::string(18, '\0');
  auto back = unseal(zip, context());
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, zip);
  auto tiny = unseal("PK", context());
  ASSERT_TRUE(tiny.ok());
  EXPECT_EQ(*tiny, "PK");
}

TEST_F(EnvelopeCipherTest, AMissingKeyFailsTheSealNamingTheKeyAndTheObject) {
  CipherContext c{kBucket, "p/out/NOKEY11", "alias/nope"};
  auto sealed = seal("x", c);
  ASSERT_FALSE(sealed.ok());
  EXPECT_EQ(sealed.status().code(), StatusCode::kNotFound);
  const std::string& m = sealed.status().message();
  EXPECT_TRUE(contains(m, "'alias/nope'")) << m;
  EXPECT_TRUE(contains(m, "artifacts/p/out/NOKEY11")) << m;
  EXPECT_TRUE(contains(m, "NotFoundException")) << m;
}

TEST_F(EnvelopeCipherTest, AKeyDisabledOrPendingDeletionFailsSealAndUnsealNamingIt) {
  auto sealed = seal("x", context());
  ASSERT_TRUE(sealed.ok());
  ASSERT_TRUE(keys_->set_enabled(key_.key_id, false).ok());
  auto unsealed = unseal(*sealed, context());
  ASSERT_FALSE(unsealed.ok());
  EXPECT_TRUE(contains(unsealed.status().message(), key_.arn + " is disabled"))
      << unsealed.status().message();
  EXPECT_TRUE(contains(unsealed.status().message(), "artifacts/p/out/ABC1234"))
      << unsealed.status().message();
  ASSERT_TRUE(keys_->set_enabled(key_.key_id, true).ok());
  ASSERT_TRUE(keys_->schedule_deletion(key_.key_id, 7).ok());
  auto refused = seal("x", context());
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(contains(refused.status().message(), "pending deletion"))
      << refused.status().message();
  EXPECT_TRUE(contains(refused.status().message(), key_.key_id)) << refused.status().message();
}

TEST_F(EnvelopeCipherTest, WithoutAKeyTheBucketsDefaultEncryptionDecides) {
  CipherContext none{kBucket, "p/out/DEF1234", ""};
  auto plain = seal("as is", none);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(*plain, "as is") << "no default encryption: plaintext";

  ASSERT_TRUE(objects_
                  ->put_bucket_config(kBucket, "encryption",
                                      "<ServerSideEncryptionConfiguration><Rule>"
                                      "<ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256"
                                      "</SSEAlgorithm></ApplyServerSideEncryptionByDefault>"
                                      "</Rule></ServerSideEncryptionConfiguration>")
                  .ok());
  auto by_default = seal("hidden", none);
  ASSERT_TRUE(by_default.ok()) << by_default.status().message();
  auto managed = keys_->describe_key(kDefaultS3Alias);
  ASSERT_TRUE(managed.ok()) << "made on first use";
  EXPECT_TRUE(contains(*by_default, managed->arn));
  auto back = unseal(*by_default, none);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, "hidden");

  ASSERT_TRUE(keys_->create_alias("alias/bucket-key", key_.key_id).ok());
  ASSERT_TRUE(objects_
                  ->put_bucket_config(kBucket, "encryption",
                                      "<ServerSideEncryptionConfiguration xmlns=\"x\"><Rule>"
                                      "<ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms"
                                      "</SSEAlgorithm><KMSMasterKeyID>alias/bucket-key"
                                      "</KMSMasterKeyID></ApplyServerSideEncryptionByDefault>"
                                      "</Rule></ServerSideEncryptionConfiguration>")
                  .ok());
  auto with_kms = seal("hidden", none);
  ASSERT_TRUE(with_kms.ok()) << with_kms.status().message();
  EXPECT_TRUE(contains(*with_kms, key_.arn));
  EXPECT_EQ(*cipher_->key_for(none), "alias/bucket-key");
  CipherContext named{kBucket, "k", "explicit"};
  EXPECT_EQ(*cipher_->key_for(named), "explicit") << "the pipeline's key wins";
}

}  // namespace
}  // namespace stageline::kms
