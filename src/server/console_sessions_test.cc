#include "server/console_sessions.h"

#include <gtest/gtest.h>

#include "base/temp_dir.h"
#include "store/sqlite_store.h"

namespace stageline::server {
namespace {

constexpr const char* kId = "AKIAIOSFODNN7EXAMPLE";
constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

// Sessions over a real SQLite file, opened again to play a restart.
class ConsoleSessionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_.put({kId, kSecret, "arn:aws:iam::111122223333:user/ada", true});
    reopen();
  }
  void reopen() {
    sessions_.reset();
    adapter_.reset();
    store_.reset();
    auto opened = store::SqliteStore::open((dir_.path() / "stageline.db").string(), {});
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    store_ = std::move(*opened);
    adapter_ = std::make_unique<StoreSessions>(
        *store_, [this](const std::string& line) { logged_.push_back(line); });
    console::Sessions::Options o;
    o.now_ms = [this] { return now_; };
    o.idle_timeout_ms = 10'000;
    o.max_age_ms = 100'000;
    o.persist_interval_ms = 1'000;
    o.store = adapter_.get();
    sessions_ = std::make_unique<console::Sessions>(keys_, o);
  }

  TempDir dir_{"console-sessions"};
  api::sigv4::InMemoryKeySource keys_;
  int64_t now_ = 1'000'000;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<StoreSessions> adapter_;
  std::unique_ptr<console::Sessions> sessions_;
  std::vector<std::string> logged_;
};

TEST_F(ConsoleSessionsTest, ASessionOutlivesARestartWithItsCsrfToken) {
  auto s = sessions_->sign_in(kId, kSecret, "10.0.0.1");
  ASSERT_TRUE(s.ok());
  reopen();
  auto found = sessions_->find(s->token);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->csrf_token, s->csrf_token);
  EXPECT_EQ(found->principal, "arn:aws:iam::111122223333:user/ada");
  EXPECT_FALSE(sessions_->find(s->csrf_token).has_value()) << "the CSRF token is no session";
  EXPECT_TRUE(logged_.empty());
}

TEST_F(ConsoleSessionsTest, TheStoreNeverHoldsTheTokenItself) {
  auto s = sessions_->sign_in(kId, kSecret, "10.0.0.1");
  auto page = store_->list_resources("console", "session", 10, "");
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].document_json.find(s->token), std::string::npos);
  EXPECT_NE(page->items[0].name, s->token);
}

TEST_F(ConsoleSessionsTest, SigningOutRemovesItFromTheStore) {
  auto s = sessions_->sign_in(kId, kSecret, "10.0.0.1");
  sessions_->sign_out(s->token);
  reopen();
  EXPECT_FALSE(sessions_->find(s->token).has_value());
}

TEST_F(ConsoleSessionsTest, UsesKeepAStoredSessionAliveAcrossRestarts) {
  auto s = sessions_->sign_in(kId, kSecret, "10.0.0.1");
  // Used every 6 s (idle timeout 10 s) for 30 s, with a restart each time:
  // the last use reaches the store, so the session stays.
  for (int i = 0; i < 5; ++i) {
    now_ += 6'000;
    ASSERT_TRUE(sessions_->find(s->token).has_value()) << i;
    reopen();
  }
  now_ += 10'000;
  EXPECT_FALSE(sessions_->find(s->token).has_value()) << "idle too long";
}

TEST_F(ConsoleSessionsTest, ALastUseIsWrittenAtMostOncePerInterval) {
  auto s = sessions_->sign_in(kId, kSecret, "10.0.0.1");
  const int64_t signed_in = now_;
  auto stored_last_use = [this] {
    auto page = store_->list_resources("console", "session", 10, "");
    return page.ok() && page->items.size() == 1 ? page->items[0].updated_ms : -1;
  };
  now_ += 500;
  ASSERT_TRUE(sessions_->find(s->token).has_value());
  EXPECT_EQ(stored_last_use(), signed_in) << "within the interval: no write";
  now_ += 600;
  ASSERT_TRUE(sessions_->find(s->token).has_value());
  EXPECT_EQ(stored_last_use(), now_);
}

TEST_F(ConsoleSessionsTest, PurgeRemovesTheSessionsThatEndedWhileTheServerWasDown) {
  auto old_one = sessions_->sign_in(kId, kSecret, "10.0.0.1");
  now_ += 9'000;
  auto recent = sessions_->sign_in(kId, kSecret, "10.0.0.1");
  now_ += 2'000;  // the first is now 11 s unused
  auto purged = adapter_->purge_expired(now_, 10'000, 100'000);
  ASSERT_TRUE(purged.ok());
  EXPECT_EQ(*purged, 1);
  reopen();
  EXPECT_FALSE(sessions_->find(old_one->token).has_value());
  EXPECT_TRUE(sessions_->find(recent->token).has_value());
}

TEST_F(ConsoleSessionsTest, AnUnreadableStoredSessionIsIgnoredAndSaidSo) {
  store::ResourceRecord r{"console", "session", std::string(64, 'a'), "{not json", 1, 1};
  ASSERT_TRUE(store_->insert_resource(r).ok());
  EXPECT_FALSE(adapter_->get(std::string(64, 'a')).has_value());
  ASSERT_EQ(logged_.size(), 1u);
  EXPECT_NE(logged_[0].find("unreadable"), std::string::npos);
  auto purged = adapter_->purge_expired(now_, 10'000, 100'000);
  ASSERT_TRUE(purged.ok());
  EXPECT_EQ(*purged, 1);
}

}  // namespace
}  // namespace stageline::server
