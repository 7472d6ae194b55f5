#include "kms/crypto.h"

#include <gtest/gtest.h>

namespace stageline::kms {
namespace {

TEST(Base64, EncodesTheRfc4648TestVectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode(std::string("\xff\xfe\x00", 3)), "//4A");
}

TEST(Base64, DecodesWhatItEncodesAndRefusesWhatIsNotBase64) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (size_t n = 0; n < 10; ++n) {
    auto back = base64_decode(base64_encode(all.substr(0, n)));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, all.substr(0, n));
  }
  auto back = base64_decode(base64_encode(all));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, all);
  EXPECT_FALSE(base64_decode("Zm9").ok());
  EXPECT_FALSE(base64_decode("Zm9*").ok());
  EXPECT_FALSE(base64_decode("Z=9v").ok());
  EXPECT_FALSE(base64_decode("Zg==Zm9v").ok());
}

TEST(AesGcm, OpensWhatItSealsAndRefusesAnyChangedByte) {
  std::string key(kAesKeyBytes, 'k');
  std::string nonce(kGcmNonceBytes, 'n');
  auto sealed = gcm_seal(key, nonce, "aad", "attack at dawn");
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->size(), 14 + kGcmTagBytes);
  EXPECT_EQ(sealed->find("attack"), std::string::npos);
  auto opened = gcm_open(key, nonce, "aad", *sealed);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  EXPECT_EQ(*opened, "attack at dawn");

  for (size_t i = 0; i < sealed->size(); ++i) {
    std::string bad = *sealed;
    bad[i] ^= 1;
    EXPECT_FALSE(gcm_open(key, nonce, "aad", bad).ok()) << "byte " << i;
  }
  EXPECT_FALSE(gcm_open(key, nonce, "aaD", *sealed).ok());
  EXPECT_FALSE(gcm_open(std::string(kAesKeyBytes, 'K'), nonce, "aad", *sealed).ok());
  EXPECT_FALSE(gcm_open(key, std::string(kGcmNonceBytes, 'N'), "aad", *sealed).ok());
  EXPECT_FALSE(gcm_open(key, nonce, "aad", sealed->substr(0, 10)).ok());
}

TEST(AesGcm, SealsAnEmptyPlaintextAsATagThatStillAuthenticates) {
  std::string key(kAesKeyBytes, 'k');
  std::string nonce(kGcmNonceBytes, 'n');
  auto sealed = gcm_seal(key, nonce, "", "");
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->size(), kGcmTagBytes);
  EXPECT_TRUE(gcm_open(key, nonce, "", *sealed).ok());
  EXPECT_FALSE(gcm_open(key, nonce, "x", *sealed).ok());
}

TEST(RandomBytes, GivesTheSizeAskedAndDifferentBytesEachTime) {
  auto a = random_bytes(32);
  auto b = random_bytes(32);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), 32u);
  EXPECT_NE(*a, *b);
}

}  // namespace
}  // namespace stageline::kms
