#include "api/keys/keys.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "api/sigv4/sigv4.h"
#include "store/sqlite_store.h"

namespace stageline::keys {
namespace {

namespace fs = std::filesystem;
using store::AccessKeyRecord;
using store::SqliteStore;

constexpr const char* kAccount = "111122223333";
constexpr const char* kAdmin = "arn:aws:iam::111122223333:user/admin";

std::unique_ptr<SqliteStore> open_or_die(const std::string& path) {
  auto store = SqliteStore::open(path, {});
  EXPECT_TRUE(store.ok()) << store.status().message();
  if (!store.ok()) std::abort();
  return std::move(*store);
}

class KeysTest : public ::testing::Test {
 protected:
  KeysTest() : store_(open_or_die(":memory:")) {
    std::string tmpl = (fs::temp_directory_path() / "keys-test-XXXXXX").string();
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
  fs::path credentials() const { return dir_ / "credentials"; }

  AccessKeyRecord add_key(const std::string& id, const std::string& principal, bool enabled = true,
                          TimestampMs created_ms = 1000) {
    AccessKeyRecord k{id, "secret-of-" + id, principal, enabled, created_ms, std::nullopt};
    EXPECT_TRUE(store_->insert_access_key(k).ok());
    return k;
  }

  std::unique_ptr<SqliteStore> store_;
  fs::path dir_;
};

// ---- Names -----------------------------------------------------------------------

TEST(KeyNames, AUserArnIsBuiltFromTheAccountAndTheUserName) {
  auto arn = user_arn(kAccount, "alice.smith+ci@example.com");
  ASSERT_TRUE(arn.ok()) << arn.status().message();
  EXPECT_EQ(*arn, "arn:aws:iam::111122223333:user/alice.smith+ci@example.com");
  EXPECT_EQ(*user_arn(kAccount, "A_b=c,d-e"), "arn:aws:iam::111122223333:user/A_b=c,d-e");
  EXPECT_EQ(*user_arn(kAccount, std::string(64, 'x')),
            "arn:aws:iam::111122223333:user/" + std::string(64, 'x'));
}

TEST(KeyNames, UserNamesOutsideIamsRulesAreRefusedWithTheReason) {
  EXPECT_EQ(validate_user_name("").message(),
            "the IAM user name is empty; use 1 to 64 of A-Z a-z 0-9 + = , . @ _ -");
  EXPECT_EQ(validate_user_name(std::string(65, 'x')).message(),
            "IAM user name '" + std::string(65, 'x') +
                "' is not valid: it is 65 characters long; use 1 to 64 of A-Z a-z 0-9 + = , . @ "
                "_ -");
  EXPECT_EQ(validate_user_name("bob smith").message(),
            "IAM user name 'bob smith' is not valid: character 4 (' ') is not allowed; use 1 to "
            "64 of A-Z a-z 0-9 + = , . @ _ -");
  for (const char* bad : {"a/b", "a:b", "a\nb", "caf\xc3\xa9", "a*", "a!", "a#", "[admin]"}) {
    Status s = validate_user_name(bad);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(user_arn(kAccount, bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(KeyNames, AccountIdsMustBeTwelveDigits) {
  EXPECT_TRUE(validate_account_id("000000000000").ok());
  for (const char* bad : {"", "11112222333", "1111222233334", "11112222333a", "-11122223333"}) {
    Status s = validate_account_id(bad);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(validate_account_id("12345").message(),
            "account id '12345' is not valid: it must be 12 digits");
}

TEST(KeyNames, OnlyUserArnsParseAndOnlyUserAdminIsTheAdministrator) {
  auto arn = parse_user_arn(kAdmin);
  ASSERT_TRUE(arn.has_value());
  EXPECT_EQ(arn->account_id, kAccount);
  EXPECT_EQ(arn->user_name, "admin");
  EXPECT_TRUE(is_admin_principal(kAdmin));
  EXPECT_TRUE(is_admin_principal("arn:aws:iam::000000000000:user/admin"));
  for (const char* other :
       {"arn:aws:iam::111122223333:user/alice", "arn:aws:iam::111122223333:role/admin",
        "arn:aws:iam::111122223333:user/admin/x", "arn:aws:iam::1111:user/admin",
        "arn:aws:sts::111122223333:user/admin", "admin", "", "arn:aws:iam::111122223333:user/"}) {
    EXPECT_FALSE(is_admin_principal(other)) << other;
  }
  EXPECT_FALSE(parse_user_arn("arn:aws:iam::111122223333:role/admin").has_value());
  EXPECT_FALSE(parse_user_arn("arn:aws:iam::111122223333").has_value());
}

// ---- ensure_admin_key --------------------------------------------------------------

TEST_F(KeysTest, FirstStartCreatesTheAdministratorsKeyAndAPrivateCredentialsFile) {
  const mode_t old_umask = ::umask(0);
  auto key = ensure_admin_key(*store_, dir_, kAccount, 4242);
  ::umask(old_umask);
  ASSERT_TRUE(key.ok()) << key.status().message();
  EXPECT_TRUE(sigv4::is_access_key_id(key->access_key_id)) << key->access_key_id;
  EXPECT_EQ(key->secret.size(), 40u);
  EXPECT_EQ(key->principal, kAdmin);
  EXPECT_TRUE(key->enabled);

  auto stored = store_->list_access_keys();
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ((*stored)[0],
            (AccessKeyRecord{key->access_key_id, key->secret, kAdmin, true, 4242, std::nullopt}));

  EXPECT_EQ(mode_of(credentials()), 0600u);
  auto read = sigv4::read_credentials_file(credentials().string(), "default");
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(read->access_key_id, key->access_key_id);
  EXPECT_EQ(read->secret, key->secret);
}

TEST_F(KeysTest, ALaterStartReturnsTheSameKeyAndLeavesTheCredentialsFileAlone) {
  auto first = ensure_admin_key(*store_, dir_, kAccount, 1000);
  ASSERT_TRUE(first.ok()) << first.status().message();
  // The operator adds a profile of their own.
  {
    std::ofstream append(credentials(), std::ios::app);
    append << "\n[other]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = s\n";
  }
  const std::string before = slurp(credentials());

  auto second = ensure_admin_key(*store_, dir_, kAccount, 2000);
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(second->access_key_id, first->access_key_id);
  EXPECT_EQ(second->secret, first->secret);
  EXPECT_EQ(store_->list_access_keys()->size(), 1u);
  EXPECT_EQ(slurp(credentials()), before);
}

TEST_F(KeysTest, ADeletedCredentialsFileIsWrittenAgainWithTheExistingKey) {
  auto first = ensure_admin_key(*store_, dir_, kAccount, 1000);
  ASSERT_TRUE(first.ok()) << first.status().message();
  fs::remove(credentials());

  auto again = ensure_admin_key(*store_, dir_, kAccount, 2000);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->access_key_id, first->access_key_id);
  EXPECT_EQ(mode_of(credentials()), 0600u);
  auto read = sigv4::read_credentials_file(credentials().string());
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(read->access_key_id, first->access_key_id);
  EXPECT_EQ(read->secret, first->secret);
  EXPECT_EQ(store_->list_access_keys()->size(), 1u);
}

TEST_F(KeysTest, TheFirstStartKeepsOtherProfilesOfAnExistingCredentialsFile) {
  {
    std::ofstream out(credentials());
    out << "[ci]\naws_access_key_id = AKIACI\naws_secret_access_key = ci-secret\n";
  }
  auto key = ensure_admin_key(*store_, dir_, kAccount, 1000);
  ASSERT_TRUE(key.ok()) << key.status().message();
  EXPECT_EQ(sigv4::read_credentials_file(credentials().string(), "ci")->secret, "ci-secret");
  EXPECT_EQ(sigv4::read_credentials_file(credentials().string())->secret, key->secret);
}

TEST_F(KeysTest, TheOldestEnabledAdministratorKeyIsTheOneReturned) {
  add_key("AKIAOLDDISABLED", kAdmin, false, 100);
  add_key("AKIAALICE", "arn:aws:iam::111122223333:user/alice", true, 150);
  add_key("AKIAOTHERACCOUNT", "arn:aws:iam::999999999999:user/admin", true, 160);
  add_key("AKIAADMIN1", kAdmin, true, 200);
  add_key("AKIAADMIN2", kAdmin, true, 300);
  auto key = ensure_admin_key(*store_, dir_, kAccount, 1000);
  ASSERT_TRUE(key.ok()) << key.status().message();
  EXPECT_EQ(key->access_key_id, "AKIAADMIN1");
  EXPECT_EQ(key->secret, "secret-of-AKIAADMIN1");
  EXPECT_EQ(store_->list_access_keys()->size(), 5u) << "no key was added";
  EXPECT_EQ(sigv4::read_credentials_file(credentials().string())->access_key_id, "AKIAADMIN1");
}

TEST_F(KeysTest, AnotherAccountsAdministratorIsNotThisOnes) {
  add_key("AKIAOTHERACCOUNT", "arn:aws:iam::999999999999:user/admin");
  auto key = ensure_admin_key(*store_, dir_, kAccount, 1000);
  ASSERT_TRUE(key.ok()) << key.status().message();
  EXPECT_NE(key->access_key_id, "AKIAOTHERACCOUNT");
  EXPECT_EQ(key->principal, kAdmin);
  EXPECT_EQ(store_->list_access_keys()->size(), 2u);
}

TEST_F(KeysTest, AnAdministratorWhoseKeysAreAllDisabledIsNotGivenANewOneBehindTheirBack) {
  add_key("AKIAADMIN1", kAdmin, false, 100);
  add_key("AKIAADMIN2", kAdmin, false, 200);
  auto key = ensure_admin_key(*store_, dir_, kAccount, 1000);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(key.status().message(),
            "set up the access key of arn:aws:iam::111122223333:user/admin: every access key of "
            "the administrator is disabled (AKIAADMIN1, AKIAADMIN2); enable one with `stageline "
            "keys enable AKIAADMIN1`");
  EXPECT_EQ(store_->list_access_keys()->size(), 2u);
  EXPECT_FALSE(fs::exists(credentials()));
}

TEST_F(KeysTest, ABadAccountIdIsRefusedBeforeAnythingIsStored) {
  auto key = ensure_admin_key(*store_, dir_, "not-an-account", 1000);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(key.status().message(),
            "set up the administrator's access key: account id 'not-an-account' is not valid: it "
            "must be 12 digits");
  EXPECT_TRUE(store_->list_access_keys()->empty());
}

TEST_F(KeysTest, ACredentialsFileThatCannotBeWrittenFailsAndTheNextStartWritesIt) {
  // A regular file where the data directory should be: nothing can be made
  // under it, whoever runs the test (root included).
  const fs::path blocked = dir_ / "not-a-directory";
  { std::ofstream(blocked) << "x"; }
  auto key = ensure_admin_key(*store_, blocked, kAccount, 1000);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), StatusCode::kIo) << key.status().message();
  EXPECT_TRUE(key.status().message().starts_with(
      "set up the access key of arn:aws:iam::111122223333:user/admin: "))
      << key.status().message();
  auto stored = store_->list_access_keys();
  ASSERT_EQ(stored->size(), 1u) << "the key is kept; only the file is missing";

  auto again = ensure_admin_key(*store_, dir_, kAccount, 2000);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->access_key_id, (*stored)[0].access_key_id);
  EXPECT_EQ(sigv4::read_credentials_file(credentials().string())->secret, (*stored)[0].secret);
}

TEST_F(KeysTest, TwoProcessesStartingOnOneStoreFileMakeOneAdministratorKey) {
  const std::string path = (dir_ / "stageline.db").string();
  auto first = open_or_die(path);
  auto second = open_or_die(path);
  Result<sigv4::Key> a = Status::internal("not run");
  Result<sigv4::Key> b = Status::internal("not run");
  std::thread t1([&] { a = ensure_admin_key(*first, dir_, kAccount, 1000); });
  std::thread t2([&] { b = ensure_admin_key(*second, dir_, kAccount, 1000); });
  t1.join();
  t2.join();
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(a->access_key_id, b->access_key_id);
  EXPECT_EQ(first->list_access_keys()->size(), 1u);
  EXPECT_EQ(sigv4::read_credentials_file(credentials().string())->access_key_id, a->access_key_id);
}

// ---- StoreKeySource ----------------------------------------------------------------

TEST_F(KeysTest, TheKeySourceFindsStoredKeysAndReportsDisabledOnesAsDisabled) {
  add_key("AKIAENABLED", kAdmin, true);
  add_key("AKIADISABLED", "arn:aws:iam::111122223333:user/bob", false);
  StoreKeySource source(*store_);

  auto enabled = source.find("AKIAENABLED");
  ASSERT_TRUE(enabled.has_value());
  EXPECT_EQ(enabled->access_key_id, "AKIAENABLED");
  EXPECT_EQ(enabled->secret, "secret-of-AKIAENABLED");
  EXPECT_EQ(enabled->principal, kAdmin);
  EXPECT_TRUE(enabled->enabled);

  auto disabled = source.find("AKIADISABLED");
  ASSERT_TRUE(disabled.has_value());
  EXPECT_FALSE(disabled->enabled);
  EXPECT_EQ(disabled->principal, "arn:aws:iam::111122223333:user/bob");

  EXPECT_FALSE(source.find("AKIAUNKNOWN").has_value());
  EXPECT_FALSE(source.find("").has_value());
}

TEST_F(KeysTest, TheKeySourceSeesChangesMadeAfterItWasCreated) {
  StoreKeySource source(*store_);
  EXPECT_FALSE(source.find("AKIALATER").has_value());
  add_key("AKIALATER", kAdmin);
  EXPECT_TRUE(source.find("AKIALATER")->enabled);
  ASSERT_TRUE(store_->set_access_key_enabled("AKIALATER", false).ok());
  EXPECT_FALSE(source.find("AKIALATER")->enabled);
  ASSERT_TRUE(store_->delete_access_key("AKIALATER").ok());
  EXPECT_FALSE(source.find("AKIALATER").has_value());
}

TEST_F(KeysTest, AStoreFailureIsReportedAndTheKeyIsNotFound) {
  const std::string path = (dir_ / "stageline.db").string();
  auto store = open_or_die(path);
  AccessKeyRecord k{"AKIAONE", "s", kAdmin, true, 1, std::nullopt};
  ASSERT_TRUE(store->insert_access_key(k).ok());
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(raw, "DROP TABLE access_keys", nullptr, nullptr, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_close(raw), SQLITE_OK);
  }
  std::vector<Status> errors;
  StoreKeySource::Options options;
  options.on_error = [&](const Status& s) { errors.push_back(s); };
  StoreKeySource source(*store, options);
  EXPECT_FALSE(source.find("AKIAONE").has_value()) << "fails closed";
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].code(), StatusCode::kIo);
  EXPECT_TRUE(errors[0].message().starts_with("get access key 'AKIAONE': ")) << errors[0].message();
}

TEST_F(KeysTest, RecordUseWritesTheFirstUseAndThenAtMostOncePerInterval) {
  add_key("AKIAONE", kAdmin);
  StoreKeySource::Options options;
  options.touch_interval = std::chrono::milliseconds(1000);
  StoreKeySource source(*store_, options);

  ASSERT_TRUE(source.record_use("AKIAONE", 10'000).ok());
  EXPECT_EQ(store_->get_access_key("AKIAONE")->last_used_ms, 10'000);
  ASSERT_TRUE(source.record_use("AKIAONE", 10'999).ok());
  EXPECT_EQ(store_->get_access_key("AKIAONE")->last_used_ms, 10'000) << "within the interval";
  ASSERT_TRUE(source.record_use("AKIAONE", 11'000).ok());
  EXPECT_EQ(store_->get_access_key("AKIAONE")->last_used_ms, 11'000);
  ASSERT_TRUE(source.record_use("AKIAONE", 5'000).ok()) << "a clock that went back";
  EXPECT_EQ(store_->get_access_key("AKIAONE")->last_used_ms, 11'000);
}

TEST_F(KeysTest, RecordUseOfADeletedKeyIsNotFoundAndIsNotRememberedAsWritten) {
  add_key("AKIAONE", kAdmin);
  StoreKeySource::Options options;
  options.touch_interval = std::chrono::milliseconds(1000);
  StoreKeySource source(*store_, options);
  ASSERT_TRUE(source.record_use("AKIAONE", 10'000).ok());
  ASSERT_TRUE(store_->delete_access_key("AKIAONE").ok());
  EXPECT_EQ(source.record_use("AKIAONE", 20'000).code(), StatusCode::kNotFound);

  // The id is stored again: its next use is written at once, although it is
  // within the interval of the failed attempt.
  add_key("AKIAONE", kAdmin);
  ASSERT_TRUE(source.record_use("AKIAONE", 20'001).ok());
  EXPECT_EQ(store_->get_access_key("AKIAONE")->last_used_ms, 20'001);

  EXPECT_EQ(source.record_use("AKIAUNKNOWN", 30'000).code(), StatusCode::kNotFound);
  EXPECT_EQ(source.record_use("AKIAUNKNOWN", 30'001).code(), StatusCode::kNotFound);
}

TEST_F(KeysTest, TheKeySourceServesManyThreadsAtOnce) {
  for (int i = 0; i < 8; ++i) add_key("AKIA" + std::to_string(i), kAdmin);
  StoreKeySource::Options options;
  options.touch_interval = std::chrono::milliseconds(0);
  StoreKeySource source(*store_, options);
  std::vector<std::thread> threads;
  std::atomic<int> found{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const std::string id = "AKIA" + std::to_string((i + t) % 8);
        if (source.find(id)) ++found;
        EXPECT_TRUE(source.record_use(id, 1000 + i).ok());
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(found.load(), 800);
  for (int i = 0; i < 8; ++i)
    EXPECT_GE(store_->get_access_key("AKIA" + std::to_string(i))->last_used_ms.value_or(0), 1190);
}

// The pieces together as the server uses them: the administrator's key, read
// back from the credentials file as a client would, signs a request that the
// verifier accepts through the store; once disabled, it is refused.
TEST_F(KeysTest, ARequestSignedWithTheCredentialsFileIsAcceptedUntilTheKeyIsDisabled) {
  auto admin = ensure_admin_key(*store_, dir_, kAccount, 1000);
  ASSERT_TRUE(admin.ok()) << admin.status().message();
  auto client_key = sigv4::read_credentials_file(credentials().string());
  ASSERT_TRUE(client_key.ok()) << client_key.status().message();

  const auto now = std::chrono::system_clock::now();
  sigv4::HttpRequest request{"POST",
                             "/",
                             {{"Host", "127.0.0.1:7300"},
                              {"Content-Type", "application/x-amz-json-1.1"},
                              {"X-Amz-Target", "CodePipeline_20150709.ListPipelines"}},
                             "{}"};
  ASSERT_TRUE(sigv4::sign(request, *client_key, "us-east-1", "codepipeline", now).ok());

  StoreKeySource source(*store_);
  sigv4::VerifierOptions options;
  options.clock = [now] { return now; };
  sigv4::Verifier verifier(options, source);
  auto accepted = verifier.verify(request.view());
  ASSERT_TRUE(accepted.ok()) << accepted.failure().detail;
  EXPECT_EQ(accepted.identity().principal, kAdmin);
  EXPECT_EQ(accepted.identity().access_key_id, admin->access_key_id);

  ASSERT_TRUE(store_->set_access_key_enabled(admin->access_key_id, false).ok());
  auto refused = verifier.verify(request.view());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.failure().error, sigv4::AuthError::kUnrecognizedClient);
}

}  // namespace
}  // namespace stageline::keys
