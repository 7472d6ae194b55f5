#include "api/keys/key_commands.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "store/sqlite_store.h"

namespace stageline::keys {
namespace {

using store::AccessKeyRecord;

constexpr const char* kAccount = "111122223333";
constexpr const char* kAdmin = "arn:aws:iam::111122223333:user/admin";
constexpr const char* kAlice = "arn:aws:iam::111122223333:user/alice";

// 2026-11-27T03:18:28Z
constexpr TimestampMs kNov27 = 1795749508000;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

class KeyCommandsTest : public ::testing::Test {
 protected:
  KeyCommandsTest() {
    auto store = store::SqliteStore::open(":memory:", {});
    STAGELINE_CHECK(store.ok());
    store_ = std::move(*store);
  }

  void add_key(const std::string& id, const std::string& principal, bool enabled = true,
               TimestampMs created_ms = kNov27, std::optional<TimestampMs> last_used = {}) {
    ASSERT_TRUE(store_
                    ->insert_access_key(AccessKeyRecord{id, "secret-of-" + id, principal, enabled,
                                                        created_ms, last_used})
                    .ok());
  }

  std::unique_ptr<store::SqliteStore> store_;
  std::ostringstream out_;
};

// ---- create ------------------------------------------------------------------------

TEST_F(KeyCommandsTest, CreatePrintsTheIdAndTheSecretOnceAndStoresTheKey) {
  auto key = keys_create(*store_, kAccount, "alice", out_, kNov27);
  ASSERT_TRUE(key.ok()) << key.status().message();
  EXPECT_TRUE(sigv4::is_access_key_id(key->access_key_id));
  EXPECT_EQ(key->principal, kAlice);

  auto lines = lines_of(out_.str());
  ASSERT_EQ(lines.size(), 4u) << out_.str();
  EXPECT_EQ(lines[0], "Created access key " + key->access_key_id + " for " + kAlice);
  EXPECT_EQ(lines[1], "aws_access_key_id = " + key->access_key_id);
  EXPECT_EQ(lines[2], "aws_secret_access_key = " + key->secret);
  EXPECT_TRUE(lines[3].starts_with("The secret is shown only this once.")) << lines[3];

  auto stored = store_->get_access_key(key->access_key_id);
  ASSERT_TRUE(stored.ok()) << stored.status().message();
  EXPECT_EQ(*stored,
            (AccessKeyRecord{key->access_key_id, key->secret, kAlice, true, kNov27, std::nullopt}));
}

TEST_F(KeyCommandsTest, EachCreateMakesADifferentKey) {
  auto a = keys_create(*store_, kAccount, "alice", out_, 1);
  auto b = keys_create(*store_, kAccount, "alice", out_, 2);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->access_key_id, b->access_key_id);
  EXPECT_NE(a->secret, b->secret);
  EXPECT_EQ(store_->list_access_keys()->size(), 2u);
}

TEST_F(KeyCommandsTest, CreateRefusesBadUserNamesAndAccountsAndStoresNothing) {
  auto bad_name = keys_create(*store_, kAccount, "alice/../admin", out_);
  ASSERT_FALSE(bad_name.ok());
  EXPECT_EQ(bad_name.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad_name.status().message(),
            "create access key: IAM user name 'alice/../admin' is not valid: character 6 ('/') is "
            "not allowed; use 1 to 64 of A-Z a-z 0-9 + = , . @ _ -");
  EXPECT_EQ(keys_create(*store_, kAccount, "", out_).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(keys_create(*store_, kAccount, std::string(65, 'a'), out_).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(keys_create(*store_, "1234", "alice", out_).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(store_->list_access_keys()->empty());
  EXPECT_EQ(out_.str(), "");
}

TEST_F(KeyCommandsTest, AKeyWhoseSecretCouldNotBePrintedIsDeletedAgain) {
  std::ostringstream broken;
  broken.setstate(std::ios::badbit);
  auto key = keys_create(*store_, kAccount, "alice", broken);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), StatusCode::kIo);
  EXPECT_EQ(key.status().message(),
            "create access key for arn:aws:iam::111122223333:user/alice: writing the output "
            "failed; the key was deleted again");
  EXPECT_TRUE(store_->list_access_keys()->empty());
}

// ---- list --------------------------------------------------------------------------

TEST_F(KeyCommandsTest, ListShowsEveryKeyInCreationOrderWithoutTheSecrets) {
  add_key("AKIAADMIN", kAdmin, true, kNov27, kNov27 + 61'000);
  add_key("AKIAALICE", kAlice, false, kNov27 + 1000);
  add_key("AKIAFIRST", "arn:aws:iam::111122223333:user/ci", true, 0);
  ASSERT_TRUE(keys_list(*store_, out_).ok());
  EXPECT_EQ(out_.str(),
            "ACCESS KEY ID  STATUS    CREATED               LAST USED             PRINCIPAL\n"
            "AKIAFIRST      Active    1970-01-01T00:00:00Z  never                 "
            "arn:aws:iam::111122223333:user/ci\n"
            "AKIAADMIN      Active    2026-11-27T03:18:28Z  2026-11-27T03:19:29Z  "
            "arn:aws:iam::111122223333:user/admin\n"
            "AKIAALICE      Inactive  2026-11-27T03:18:29Z  never                 "
            "arn:aws:iam::111122223333:user/alice\n");
  EXPECT_EQ(out_.str().find("secret"), std::string::npos);
}

TEST_F(KeyCommandsTest, ListWithNoKeysSaysSo) {
  ASSERT_TRUE(keys_list(*store_, out_).ok());
  EXPECT_EQ(out_.str(), "No access keys.\n");
}

TEST_F(KeyCommandsTest, ListShowsATimeBeforeTheEpochWithoutRoundingTowardsIt) {
  add_key("AKIAOLD", kAlice, true, -1);
  ASSERT_TRUE(keys_list(*store_, out_).ok());
  EXPECT_NE(out_.str().find("1969-12-31T23:59:59Z"), std::string::npos) << out_.str();
}

// ---- delete, disable, enable -------------------------------------------------------

TEST_F(KeyCommandsTest, DeleteRemovesTheKeyAndSaysWhoseItWas) {
  add_key("AKIAALICE", kAlice);
  ASSERT_TRUE(keys_delete(*store_, "AKIAALICE", out_).ok());
  EXPECT_EQ(out_.str(), "Deleted access key AKIAALICE of arn:aws:iam::111122223333:user/alice\n");
  EXPECT_EQ(store_->get_access_key("AKIAALICE").status().code(), StatusCode::kNotFound);
}

TEST_F(KeyCommandsTest, DeleteDisableAndEnableOfAnUnknownKeyAreNotFound) {
  Status deleted = keys_delete(*store_, "AKIANOPE", out_);
  EXPECT_EQ(deleted.code(), StatusCode::kNotFound);
  EXPECT_EQ(deleted.message(), "delete access key 'AKIANOPE': no access key has this id");
  EXPECT_EQ(keys_disable(*store_, "AKIANOPE", out_).message(),
            "disable access key 'AKIANOPE': no access key has this id");
  EXPECT_EQ(keys_enable(*store_, "AKIANOPE", out_).message(),
            "enable access key 'AKIANOPE': no access key has this id");
  EXPECT_EQ(out_.str(), "");
}

TEST_F(KeyCommandsTest, DisableAndEnableFlipTheKeyAndRepeatingIsHarmless) {
  add_key("AKIAALICE", kAlice);
  ASSERT_TRUE(keys_disable(*store_, "AKIAALICE", out_).ok());
  EXPECT_FALSE(store_->get_access_key("AKIAALICE")->enabled);
  ASSERT_TRUE(keys_disable(*store_, "AKIAALICE", out_).ok());
  ASSERT_TRUE(keys_enable(*store_, "AKIAALICE", out_).ok());
  EXPECT_TRUE(store_->get_access_key("AKIAALICE")->enabled);
  ASSERT_TRUE(keys_enable(*store_, "AKIAALICE", out_).ok());
  EXPECT_EQ(lines_of(out_.str()),
            (std::vector<std::string>{
                "Disabled access key AKIAALICE of arn:aws:iam::111122223333:user/alice",
                "Disabled access key AKIAALICE of arn:aws:iam::111122223333:user/alice",
                "Enabled access key AKIAALICE of arn:aws:iam::111122223333:user/alice",
                "Enabled access key AKIAALICE of arn:aws:iam::111122223333:user/alice"}));
}

TEST_F(KeyCommandsTest, TheLastEnabledAdministratorKeyCanBeNeitherDeletedNorDisabled) {
  add_key("AKIAADMIN", kAdmin);
  add_key("AKIAALICE", kAlice);            // another user's key does not count
  add_key("AKIAADMINOFF", kAdmin, false);  // nor does a disabled admin key

  Status deleted = keys_delete(*store_, "AKIAADMIN", out_);
  EXPECT_EQ(deleted.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(deleted.message(),
            "refusing to delete access key 'AKIAADMIN': it is the last enabled access key of "
            "arn:aws:iam::111122223333:user/admin, the administrator, who could not call the "
            "server without it; create another first with `stageline keys create admin`");
  Status disabled = keys_disable(*store_, "AKIAADMIN", out_);
  EXPECT_EQ(disabled.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(disabled.message().starts_with("refusing to disable access key 'AKIAADMIN': "))
      << disabled.message();
  EXPECT_EQ(out_.str(), "");
  EXPECT_TRUE(store_->get_access_key("AKIAADMIN")->enabled);

  // A disabled admin key may go, and once another is enabled, so may this one.
  ASSERT_TRUE(keys_delete(*store_, "AKIAADMINOFF", out_).ok());
  add_key("AKIAADMIN2", kAdmin);
  ASSERT_TRUE(keys_disable(*store_, "AKIAADMIN", out_).ok());
  EXPECT_EQ(keys_delete(*store_, "AKIAADMIN2", out_).code(), StatusCode::kFailedPrecondition)
      << "AKIAADMIN2 is now the last enabled one";
  ASSERT_TRUE(keys_delete(*store_, "AKIAADMIN", out_).ok());
  EXPECT_EQ(store_->list_access_keys()->size(), 2u);
}

TEST_F(KeyCommandsTest, TheGuardIsPerAccount) {
  add_key("AKIAADMIN", kAdmin);
  add_key("AKIAOTHERADMIN", "arn:aws:iam::999999999999:user/admin");
  EXPECT_EQ(keys_delete(*store_, "AKIAADMIN", out_).code(), StatusCode::kFailedPrecondition)
      << "another account's administrator cannot stand in";
  EXPECT_EQ(keys_delete(*store_, "AKIAOTHERADMIN", out_).code(), StatusCode::kFailedPrecondition);
}

TEST_F(KeyCommandsTest, KeysCreatedWithTheCommandWorkWithTheGuard) {
  auto first = keys_create(*store_, kAccount, "admin", out_);
  auto second = keys_create(*store_, kAccount, "admin", out_);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_TRUE(keys_delete(*store_, first->access_key_id, out_).ok());
  EXPECT_EQ(keys_delete(*store_, second->access_key_id, out_).code(),
            StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace stageline::keys
