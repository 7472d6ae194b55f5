#include "secrets/sealer.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace stageline::secrets {
namespace {

namespace fs = std::filesystem;

std::array<unsigned char, 32> key(unsigned char fill) {
  std::array<unsigned char, 32> k{};
  k.fill(fill);
  return k;
}

TEST(Sealer, OpensWhatItSealedUnderTheSameContext) {
  FileKeySealer s(key(1));
  auto sealed = s.seal("hunter2", "ssm:parameter:/db/password");
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->find("hunter2"), std::string::npos);
  auto opened = s.open(*sealed, "ssm:parameter:/db/password");
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  EXPECT_EQ(*opened, "hunter2");
}

TEST(Sealer, SealsTheSameValueDifferentlyEachTime) {
  FileKeySealer s(key(1));
  EXPECT_NE(*s.seal("v", "c"), *s.seal("v", "c"));
}

TEST(Sealer, RefusesAValueMovedToAnotherContext) {
  FileKeySealer s(key(1));
  auto sealed = s.seal("hunter2", "ssm:parameter:/a");
  EXPECT_EQ(s.open(*sealed, "ssm:parameter:/b").status().code(), StatusCode::kInvalidArgument);
}

TEST(Sealer, RefusesAnAlteredByteAndAnotherKey) {
  FileKeySealer s(key(1));
  std::string sealed = *s.seal("hunter2", "c");
  std::string altered = sealed;
  altered[altered.size() - 20] ^= 1;
  EXPECT_FALSE(s.open(altered, "c").ok());
  EXPECT_FALSE(FileKeySealer(key(2)).open(sealed, "c").ok());
  EXPECT_FALSE(s.open("SLV1short", "c").ok());
}

TEST(Sealer, KeyFileIsCreatedPrivateAndReadBackTheSame) {
  std::string pattern = (fs::temp_directory_path() / "sealer_test_XXXXXX").string();
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  const fs::path path = fs::path(pattern) / "secrets.key";
  auto first = FileKeySealer::open_key_file(path);
  ASSERT_TRUE(first.ok()) << first.status().message();
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 32);
  auto sealed = (*first)->seal("value", "ctx");
  auto second = FileKeySealer::open_key_file(path);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*(*second)->open(*sealed, "ctx"), "value");

  chmod(path.c_str(), 0644);
  EXPECT_EQ(FileKeySealer::open_key_file(path).status().code(), StatusCode::kInvalidArgument);
  { std::ofstream(path, std::ios::trunc) << "short"; }
  chmod(path.c_str(), 0600);
  EXPECT_EQ(FileKeySealer::open_key_file(path).status().code(), StatusCode::kInvalidArgument);
  fs::remove_all(pattern);
}

TEST(Base64, RoundTripsEveryLengthAndRejectsGarbage) {
  std::string bytes;
  for (int i = 0; i < 10; ++i) {
    auto back = base64_decode(base64_encode(bytes));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, bytes);
    bytes += static_cast<char>(i * 37);
  }
  EXPECT_EQ(base64_encode("hello"), "aGVsbG8=");
  EXPECT_FALSE(base64_decode("aGVsbG8").ok());
  EXPECT_FALSE(base64_decode("aG!sbG8=").ok());
  EXPECT_FALSE(base64_decode("a=Vs").ok());
}

}  // namespace
}  // namespace stageline::secrets
