#include "api/sigv4/keys.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace stageline::api::sigv4 {
namespace {

namespace fs = std::filesystem;

class KeysTest : public ::testing::Test {
 protected:
  KeysTest() {
    std::string tmpl = (fs::temp_directory_path() / "sigv4-keys-XXXXXX").string();
    STAGELINE_CHECK(::mkdtemp(tmpl.data()) != nullptr);
    dir_ = tmpl;
  }
  ~KeysTest() override { fs::remove_all(dir_); }

  static std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  static unsigned mode_of(const fs::path& p) {
    struct stat st {};
    STAGELINE_CHECK(::stat(p.c_str(), &st) == 0);
    return st.st_mode & 07777;
  }

  fs::path dir_;
  Key key_{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "p", true};
};

TEST_F(KeysTest, GeneratedKeysHaveAwsShapeAndNeverRepeat) {
  std::set<std::string> ids, secrets;
  for (int i = 0; i < 200; ++i) {
    auto k = generate_key("arn:aws:iam::000000000000:user/admin");
    ASSERT_TRUE(k.ok());
    EXPECT_TRUE(is_access_key_id(k->access_key_id)) << k->access_key_id;
    EXPECT_EQ(k->access_key_id.substr(0, 4), "AKIA");
    ASSERT_EQ(k->secret.size(), 40u);
    for (char c : k->secret)
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/');
    EXPECT_EQ(k->principal, "arn:aws:iam::000000000000:user/admin");
    EXPECT_TRUE(k->enabled);
    ids.insert(k->access_key_id);
    secrets.insert(k->secret);
  }
  EXPECT_EQ(ids.size(), 200u);
  EXPECT_EQ(secrets.size(), 200u);
}

TEST_F(KeysTest, AccessKeyIdShapeCheck) {
  EXPECT_TRUE(is_access_key_id("AKIAIOSFODNN7EXAMPLE"));
  EXPECT_FALSE(is_access_key_id("AKIDEXAMPLE"));
  EXPECT_FALSE(is_access_key_id("akiaiosfodnn7example"));
  EXPECT_FALSE(is_access_key_id("AKIAIOSFODNN7EXAMPL1"));  // 1 is not base32
}

TEST_F(KeysTest, InMemoryKeySourceFindsPutKeysOnly) {
  InMemoryKeySource keys;
  keys.put(key_);
  EXPECT_EQ(keys.find("AKIAIOSFODNN7EXAMPLE")->secret, key_.secret);
  EXPECT_FALSE(keys.find("AKIAIOSFODNN7EXAMPLF"));
  EXPECT_TRUE(keys.remove("AKIAIOSFODNN7EXAMPLE"));
  EXPECT_FALSE(keys.remove("AKIAIOSFODNN7EXAMPLE"));
  EXPECT_FALSE(keys.find("AKIAIOSFODNN7EXAMPLE"));
}

TEST_F(KeysTest, CredentialsFileHasTheAwsFormatAndRoundTrips) {
  fs::path p = dir_ / "credentials";
  ASSERT_TRUE(write_credentials_file(p, key_).ok());
  EXPECT_EQ(slurp(p),
            "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\n");
  auto back = read_credentials_file(p);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->access_key_id, key_.access_key_id);
  EXPECT_EQ(back->secret, key_.secret);
}

TEST_F(KeysTest, CredentialsFileIsMode0600EvenUnderUmask000) {
  for (mode_t mask : {mode_t{0}, mode_t{0022}, mode_t{0277}}) {
    fs::path p = dir_ / ("credentials-" + std::to_string(mask));
    mode_t old = ::umask(mask);
    Status s = write_credentials_file(p, key_);
    ::umask(old);
    ASSERT_TRUE(s.ok()) << s.message();
    EXPECT_EQ(mode_of(p), 0600u) << "umask " << std::oct << mask;
  }
}

TEST_F(KeysTest, RewriteReplacesTheFileAtomicallyAndLeavesNoTemporaryFile) {
  fs::path p = dir_ / "credentials";
  ASSERT_TRUE(write_credentials_file(p, key_).ok());
  std::ifstream old_reader(p);  // holds the old inode open
  struct stat before {};
  ASSERT_EQ(::stat(p.c_str(), &before), 0);

  Key next = key_;
  next.access_key_id = "AKIAZZZZZZZZZZZZZZZZ";
  ASSERT_TRUE(write_credentials_file(p, next).ok());
  struct stat after {};
  ASSERT_EQ(::stat(p.c_str(), &after), 0);
  EXPECT_NE(before.st_ino, after.st_ino) << "rewritten in place, not renamed over";
  std::stringstream old_text;
  old_text << old_reader.rdbuf();
  EXPECT_NE(old_text.str().find("AKIAIOSFODNN7EXAMPLE"), std::string::npos);
  EXPECT_EQ(read_credentials_file(p)->access_key_id, "AKIAZZZZZZZZZZZZZZZZ");

  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir_)) names.push_back(e.path().filename());
  EXPECT_EQ(names, std::vector<std::string>{"credentials"});
}

TEST_F(KeysTest, OtherProfilesAreKeptAndTheProfileReplaced) {
  fs::path p = dir_ / "credentials";
  {
    std::ofstream out(p);
    out << "# my keys\n[prod]\naws_access_key_id = AKIAPRODPRODPRODPROD\n"
           "aws_secret_access_key = prodsecret\nregion = eu-west-1\n\n"
           "[stageline]\naws_access_key_id = OLD\naws_secret_access_key = OLD\n\n"
           "[other]\naws_access_key_id=AKIAOTHEROTHEROTHERO\naws_secret_access_key=o\n";
  }
  ASSERT_TRUE(write_credentials_file(p, key_, "stageline").ok());
  EXPECT_EQ(slurp(p),
            "# my keys\n[prod]\naws_access_key_id = AKIAPRODPRODPRODPROD\n"
            "aws_secret_access_key = prodsecret\nregion = eu-west-1\n\n"
            "[stageline]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\n"
            "[other]\naws_access_key_id=AKIAOTHEROTHEROTHERO\naws_secret_access_key=o\n");
  EXPECT_EQ(read_credentials_file(p, "prod")->secret, "prodsecret");
  EXPECT_EQ(read_credentials_file(p, "other")->access_key_id, "AKIAOTHEROTHEROTHERO");
  EXPECT_EQ(read_credentials_file(p, "stageline")->access_key_id, "AKIAIOSFODNN7EXAMPLE");

  ASSERT_TRUE(write_credentials_file(p, key_, "new").ok());
  EXPECT_EQ(read_credentials_file(p, "new")->secret, key_.secret);
  EXPECT_EQ(read_credentials_file(p, "prod")->secret, "prodsecret");
}

TEST_F(KeysTest, ReaderFollowsBotocoreSyntax) {
  fs::path p = dir_ / "credentials";
  {
    std::ofstream out(p);
    out << "; comment\n[default]\r\n  AWS_Access_Key_ID :  AKIAX  \r\n# c\n"
           "aws_secret_access_key=s/e+c=\n";
  }
  auto k = read_credentials_file(p);
  ASSERT_TRUE(k.ok()) << k.status().message();
  EXPECT_EQ(k->access_key_id, "AKIAX");
  EXPECT_EQ(k->secret, "s/e+c=");
}

TEST_F(KeysTest, ReaderNamesWhatIsMissing) {
  fs::path p = dir_ / "credentials";
  auto missing = read_credentials_file(p);
  EXPECT_EQ(missing.status().code(), StatusCode::kIo);
  {
    std::ofstream out(p);
    out << "[default]\naws_access_key_id = AKIAX\n";
  }
  auto no_secret = read_credentials_file(p);
  EXPECT_EQ(no_secret.status().code(), StatusCode::kNotFound);
  EXPECT_NE(no_secret.status().message().find("aws_secret_access_key"), std::string::npos);
  auto no_profile = read_credentials_file(p, "prod");
  EXPECT_EQ(no_profile.status().code(), StatusCode::kNotFound);
  EXPECT_NE(no_profile.status().message().find("no profile 'prod'"), std::string::npos);
}

TEST_F(KeysTest, WriterCreatesMissingDirectoriesPrivately) {
  fs::path p = dir_ / "home" / ".aws" / "credentials";
  ASSERT_TRUE(write_credentials_file(p, key_).ok());
  EXPECT_EQ(mode_of(dir_ / "home" / ".aws"), 0700u);
  EXPECT_EQ(read_credentials_file(p)->secret, key_.secret);
}

TEST_F(KeysTest, WriterRefusesWhatTheFormatCannotHold) {
  fs::path p = dir_ / "credentials";
  EXPECT_EQ(write_credentials_file(p, key_, "").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(write_credentials_file(p, key_, "a]b").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(write_credentials_file(p, key_, "a\nb").code(), StatusCode::kInvalidArgument);
  Key bad = key_;
  bad.secret = "two words";
  EXPECT_EQ(write_credentials_file(p, bad).code(), StatusCode::kInvalidArgument);
  bad.secret = "";
  EXPECT_EQ(write_credentials_file(p, bad).code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(p));
  EXPECT_EQ(write_credentials_file((dir_ / "nodir" / "x").string() + "/", key_).code(),
            StatusCode::kInvalidArgument);
}

TEST_F(KeysTest, WriterReportsAPathItCannotCreate) {
  {
    std::ofstream out(dir_ / "file");
    out << "x";
  }
  // A regular file where a directory must be: fails for root too.
  Status s = write_credentials_file(dir_ / "file" / "credentials", key_);
  EXPECT_EQ(s.code(), StatusCode::kIo) << s.message();
  s = write_credentials_file(dir_ / "file" / "sub" / "credentials", key_);
  EXPECT_EQ(s.code(), StatusCode::kIo) << s.message();
}

}  // namespace
}  // namespace stageline::api::sigv4
