#include "console/sessions.h"

#include <gtest/gtest.h>

#include <set>

namespace stageline::console {
namespace {

constexpr const char* kId = "AKIAIOSFODNN7EXAMPLE";
constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr const char* kPrincipal = "arn:aws:iam::111122223333:user/ada";

struct Fixture {
  api::sigv4::InMemoryKeySource keys;
  int64_t now = 1'000'000;
  Sessions sessions;
  Fixture(Sessions::Options options = {})
      : sessions(keys, [&] {
          options.now_ms = [this] { return now; };
          return options;
        }()) {
    keys.put({kId, kSecret, kPrincipal, true});
  }
};

TEST(ConsoleSessions, TheRightKeySignsInWithTwoDifferentRandomTokens) {
  Fixture f;
  auto s = f.sessions.sign_in(kId, kSecret, "10.0.0.1");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->principal, kPrincipal);
  EXPECT_EQ(s->access_key_id, kId);
  EXPECT_EQ(s->token.size(), 43u);
  EXPECT_EQ(s->csrf_token.size(), 43u);
  EXPECT_NE(s->token, s->csrf_token);
  EXPECT_EQ(s->token.find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
  auto again = f.sessions.sign_in(kId, kSecret, "10.0.0.1");
  ASSERT_TRUE(again.ok());
  EXPECT_NE(again->token, s->token);
  EXPECT_EQ(f.sessions.size(), 2u);
  auto found = f.sessions.find(s->token);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->csrf_token, s->csrf_token);
}

TEST(ConsoleSessions, AWrongSecretAnUnknownIdAndADisabledKeyAreRefusedAlike) {
  Fixture f;
  f.keys.put({"AKIADISABLED00000000", "s3cret", kPrincipal, false});
  auto wrong = f.sessions.sign_in(kId, "not-the-secret", "10.0.0.1");
  auto unknown = f.sessions.sign_in("AKIANOSUCHKEY0000000", kSecret, "10.0.0.1");
  auto disabled = f.sessions.sign_in("AKIADISABLED00000000", "s3cret", "10.0.0.1");
  auto empty = f.sessions.sign_in("", "", "10.0.0.1");
  for (const auto* r : {&wrong, &unknown, &disabled, &empty}) {
    ASSERT_FALSE(r->ok());
    EXPECT_EQ(r->status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r->status().message(), wrong.status().message());
  }
  EXPECT_EQ(f.sessions.size(), 0u);
}

TEST(ConsoleSessions, AnUnknownTokenFindsNothing) {
  Fixture f;
  ASSERT_TRUE(f.sessions.sign_in(kId, kSecret, "10.0.0.1").ok());
  EXPECT_FALSE(f.sessions.find("").has_value());
  EXPECT_FALSE(f.sessions.find("x").has_value());
}

TEST(ConsoleSessions, SigningOutEndsOnlyThatSession) {
  Fixture f;
  auto a = f.sessions.sign_in(kId, kSecret, "10.0.0.1");
  auto b = f.sessions.sign_in(kId, kSecret, "10.0.0.1");
  f.sessions.sign_out(a->token);
  EXPECT_FALSE(f.sessions.find(a->token).has_value());
  EXPECT_TRUE(f.sessions.find(b->token).has_value());
}

TEST(ConsoleSessions, ASessionUnusedForTheIdleTimeoutEnds) {
  Fixture f({.now_ms = {}, .idle_timeout_ms = 1000, .max_age_ms = 100000});
  auto s = f.sessions.sign_in(kId, kSecret, "10.0.0.1");
  f.now += 999;
  EXPECT_TRUE(f.sessions.find(s->token).has_value());  // and that use keeps it alive
  f.now += 999;
  EXPECT_TRUE(f.sessions.find(s->token).has_value());
  f.now += 1000;
  EXPECT_FALSE(f.sessions.find(s->token).has_value());
}

TEST(ConsoleSessions, ASessionEndsAtItsMaximumAgeEvenWhenUsed) {
  Fixture f({.now_ms = {}, .idle_timeout_ms = 1000, .max_age_ms = 2500});
  auto s = f.sessions.sign_in(kId, kSecret, "10.0.0.1");
  for (int i = 0; i < 4; ++i) {
    f.now += 600;
    EXPECT_TRUE(f.sessions.find(s->token).has_value()) << i;
  }
  f.now += 600;
  EXPECT_FALSE(f.sessions.find(s->token).has_value());
}

TEST(ConsoleSessions, DisablingOrDeletingTheKeyEndsItsSessions) {
  Fixture f;
  auto s = f.sessions.sign_in(kId, kSecret, "10.0.0.1");
  f.keys.put({kId, kSecret, kPrincipal, false});
  EXPECT_FALSE(f.sessions.find(s->token).has_value());
  f.keys.put({kId, kSecret, kPrincipal, true});
  EXPECT_FALSE(f.sessions.find(s->token).has_value()) << "an ended session stays ended";
  auto t = f.sessions.sign_in(kId, kSecret, "10.0.0.1");
  f.keys.remove(kId);
  EXPECT_FALSE(f.sessions.find(t->token).has_value());
}

TEST(ConsoleSessions, TooManyFailuresFromOneAddressAreThrottledForAMinute) {
  Fixture f({.now_ms = {}, .max_failures_per_minute = 3});
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(f.sessions.sign_in(kId, "wrong", "10.0.0.1").status().code(),
              StatusCode::kInvalidArgument);
  // Even the right secret is refused from that address now...
  EXPECT_EQ(f.sessions.sign_in(kId, kSecret, "10.0.0.1").status().code(),
            StatusCode::kFailedPrecondition);
  // ...but not from another one.
  EXPECT_TRUE(f.sessions.sign_in(kId, kSecret, "10.0.0.2").ok());
  f.now += 60 * 1000;
  EXPECT_TRUE(f.sessions.sign_in(kId, kSecret, "10.0.0.1").ok());
}

TEST(ConsoleSessions, OverTheLimitTheSessionUsedLongestAgoMakesRoom) {
  Fixture f({.now_ms = {}, .max_sessions = 3});
  std::vector<std::string> tokens;
  for (int i = 0; i < 3; ++i) {
    tokens.push_back(f.sessions.sign_in(kId, kSecret, "10.0.0.1")->token);
    f.now += 10;
  }
  f.sessions.find(tokens[0]);  // the first is used again: the second is now the oldest
  f.now += 10;
  auto fourth = f.sessions.sign_in(kId, kSecret, "10.0.0.1");
  EXPECT_EQ(f.sessions.size(), 3u);
  EXPECT_TRUE(f.sessions.find(tokens[0]).has_value());
  EXPECT_FALSE(f.sessions.find(tokens[1]).has_value());
  EXPECT_TRUE(f.sessions.find(tokens[2]).has_value());
  EXPECT_TRUE(f.sessions.find(fourth->token).has_value());
}

}  // namespace
}  // namespace stageline::console
