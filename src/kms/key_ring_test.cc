#include "kms/key_ring.h"

#include <sys/stat.h>

#include <thread>

#include "kms/test_util.h"

namespace stageline::kms {
namespace {

using testing::contains;
using testing::KeyRingFixture;

class KeyRingTest : public KeyRingFixture {};

constexpr int64_t kDayMs = int64_t{24} * 60 * 60 * 1000;

TEST_F(KeyRingTest, ANewKeyIsEnabledAndHas32BytesOfMaterialOnlyItsOwnerCanRead) {
  KeyMetadata key = make_key("for artifacts");
  EXPECT_EQ(key.state, KeyState::kEnabled);
  EXPECT_EQ(key.arn, "arn:aws:kms:us-east-1:111122223333:key/" + key.key_id);
  EXPECT_EQ(key.description, "for artifacts");
  EXPECT_EQ(key.created_ms, now_.load());

  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "kms").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat((dir_ / "kms" / key.key_id).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 32);

  KeyMetadata other = make_key();
  EXPECT_NE(other.key_id, key.key_id);
}

TEST_F(KeyRingTest, AKeyIsFoundByIdArnAliasAndAliasArn) {
  KeyMetadata key = make_key();
  ASSERT_TRUE(keys_->create_alias("alias/artifacts", key.key_id).ok());
  for (std::string ref : {key.key_id, key.arn, std::string("alias/artifacts"),
                          std::string("arn:aws:kms:us-east-1:111122223333:alias/artifacts")}) {
    auto found = keys_->describe_key(ref);
    ASSERT_TRUE(found.ok()) << ref << ": " << found.status().message();
    EXPECT_EQ(found->key_id, key.key_id) << ref;
  }
}

TEST_F(KeyRingTest, UnknownKeysAndAliasesAreNotFoundAndNamed) {
  auto no_key = keys_->describe_key("0b8e3f4c-1234-4abc-8def-0123456789ab");
  EXPECT_EQ(error_type(no_key.status()), "NotFoundException");
  EXPECT_EQ(error_message(no_key.status()),
            "Key 'arn:aws:kms:us-east-1:111122223333:key/0b8e3f4c-1234-4abc-8def-0123456789ab' "
            "does not exist");
  auto no_alias = keys_->describe_key("alias/nope");
  EXPECT_EQ(error_type(no_alias.status()), "NotFoundException");
  EXPECT_TRUE(contains(no_alias.status().message(), "alias/nope")) << no_alias.status().message();
  EXPECT_EQ(error_type(keys_->describe_key("not-a-key").status()), "NotFoundException");
  EXPECT_EQ(error_type(keys_->describe_key("arn:aws:kms:eu-west-1:1:key/x").status()),
            "NotFoundException");
}

TEST_F(KeyRingTest, AliasesAreUniqueMustStartWithAliasAndNeverTheAwsPrefix) {
  KeyMetadata key = make_key();
  ASSERT_TRUE(keys_->create_alias("alias/a", key.arn).ok());
  Status again = keys_->create_alias("alias/a", key.key_id);
  EXPECT_EQ(error_type(again), "AlreadyExistsException");
  EXPECT_TRUE(contains(again.message(), "alias/a already exists")) << again.message();
  EXPECT_EQ(error_type(keys_->create_alias("a", key.key_id)), "InvalidAliasNameException");
  EXPECT_EQ(error_type(keys_->create_alias("alias/aws/s3", key.key_id)),
            "InvalidAliasNameException");
  EXPECT_EQ(error_type(keys_->create_alias("alias/b", "alias/a")), "ValidationException");
  EXPECT_EQ(error_type(keys_->create_alias("alias/c", "0b8e3f4c-1234-4abc-8def-0123456789ab")),
            "NotFoundException");
  ASSERT_TRUE(keys_->delete_alias("alias/a").ok());
  EXPECT_EQ(error_type(keys_->delete_alias("alias/a")), "NotFoundException");
}

TEST_F(KeyRingTest, EncryptThenDecryptWithoutNamingTheKeyGivesThePlaintextBack) {
  KeyMetadata key = make_key();
  auto encrypted = keys_->encrypt(key.key_id, "secret value", {{"purpose", "test"}});
  ASSERT_TRUE(encrypted.ok()) << encrypted.status().message();
  EXPECT_EQ(encrypted->key_arn, key.arn);
  EXPECT_FALSE(contains(encrypted->blob, "secret value"));
  auto decrypted = keys_->decrypt(encrypted->blob, {{"purpose", "test"}});
  ASSERT_TRUE(decrypted.ok()) << decrypted.status().message();
  EXPECT_EQ(decrypted->plaintext, "secret value");
  EXPECT_EQ(decrypted->key_arn, key.arn);
  auto named = keys_->decrypt(encrypted->blob, {{"purpose", "test"}}, key.arn);
  EXPECT_TRUE(named.ok()) << named.status().message();
}

TEST_F(KeyRingTest, DecryptRefusesAnotherContextAnAlteredBlobAndAnotherKey) {
  KeyMetadata key = make_key();
  KeyMetadata other = make_key();
  auto encrypted = keys_->encrypt(key.key_id, "secret", {{"a", "1"}});
  ASSERT_TRUE(encrypted.ok());
  EXPECT_EQ(error_type(keys_->decrypt(encrypted->blob, {}).status()), "InvalidCiphertextException");
  EXPECT_EQ(error_type(keys_->decrypt(encrypted->blob, {{"a", "2"}}).status()),
            "InvalidCiphertextException");
  EXPECT_EQ(error_type(keys_->decrypt(encrypted->blob, {{"a", "1"}, {"b", ""}}).status()),
            "InvalidCiphertextException");
  std::string altered = encrypted->blob;
  altered.back() ^= 1;
  EXPECT_EQ(error_type(keys_->decrypt(altered, {{"a", "1"}}).status()),
            "InvalidCiphertextException");
  EXPECT_EQ(error_type(keys_->decrypt("garbage", {}).status()), "InvalidCiphertextException");
  EXPECT_EQ(error_type(keys_->decrypt(encrypted->blob, {{"a", "1"}}, other.key_id).status()),
            "IncorrectKeyException");
  // Swapping the key id inside the blob does not make another key decrypt it.
  std::string swapped = encrypted->blob;
  swapped.replace(4, 36, other.key_id);
  EXPECT_EQ(error_type(keys_->decrypt(swapped, {{"a", "1"}}).status()),
            "InvalidCiphertextException");
}

TEST_F(KeyRingTest, DisabledKeysRefuseToEncryptOrDecryptUntilEnabledAgain) {
  KeyMetadata key = make_key();
  auto encrypted = keys_->encrypt(key.key_id, "x", {});
  ASSERT_TRUE(encrypted.ok());
  ASSERT_TRUE(keys_->set_enabled(key.key_id, false).ok());
  auto refused = keys_->encrypt(key.key_id, "x", {});
  EXPECT_EQ(error_type(refused.status()), "DisabledException");
  EXPECT_EQ(error_message(refused.status()), key.arn + " is disabled.");
  EXPECT_EQ(error_type(keys_->decrypt(encrypted->blob, {}).status()), "DisabledException");
  EXPECT_EQ(error_type(keys_->generate_data_key(key.key_id, 32, {}).status()), "DisabledException");
  ASSERT_TRUE(keys_->set_enabled(key.arn, true).ok());
  EXPECT_TRUE(keys_->decrypt(encrypted->blob, {}).ok());
}

TEST_F(KeyRingTest, AKeyPendingDeletionIsUnusableAndGoneOnceItsDateHasPassed) {
  KeyMetadata key = make_key();
  ASSERT_TRUE(keys_->create_alias("alias/doomed", key.key_id).ok());
  EXPECT_EQ(error_type(keys_->schedule_deletion(key.key_id, 3).status()), "ValidationException");
  auto pending = keys_->schedule_deletion("alias/doomed", 7);
  ASSERT_TRUE(pending.ok()) << pending.status().message();
  EXPECT_EQ(pending->state, KeyState::kPendingDeletion);
  EXPECT_EQ(pending->deletion_ms, now_.load() + 7 * kDayMs);
  auto refused = keys_->encrypt("alias/doomed", "x", {});
  EXPECT_EQ(error_type(refused.status()), "KMSInvalidStateException");
  EXPECT_EQ(error_message(refused.status()), key.arn + " is pending deletion.");
  EXPECT_EQ(error_type(keys_->schedule_deletion(key.key_id, 7).status()),
            "KMSInvalidStateException");
  EXPECT_EQ(error_type(keys_->set_enabled(key.key_id, true).status()), "KMSInvalidStateException");

  now_ += 7 * kDayMs;
  EXPECT_EQ(error_type(keys_->describe_key(key.key_id).status()), "NotFoundException");
  EXPECT_EQ(error_type(keys_->describe_key("alias/doomed").status()), "NotFoundException");
  EXPECT_FALSE(std::filesystem::exists(dir_ / "kms" / key.key_id));
}

TEST_F(KeyRingTest, CancellingDeletionLeavesTheKeyDisabled) {
  KeyMetadata key = make_key();
  EXPECT_EQ(error_type(keys_->cancel_deletion(key.key_id).status()), "KMSInvalidStateException");
  ASSERT_TRUE(keys_->schedule_deletion(key.key_id, 30).ok());
  auto cancelled = keys_->cancel_deletion(key.key_id);
  ASSERT_TRUE(cancelled.ok());
  EXPECT_EQ(cancelled->state, KeyState::kDisabled);
  EXPECT_EQ(keys_->describe_key(key.key_id)->state, KeyState::kDisabled);
}

TEST_F(KeyRingTest, ListingKeysAndAliasesPagesInOrderWithMarkers) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(make_key().key_id);
  std::sort(ids.begin(), ids.end());
  std::vector<std::string> seen;
  std::string marker;
  int pages = 0;
  do {
    auto page = keys_->list_keys(2, marker);
    ASSERT_TRUE(page.ok()) << page.status().message();
    for (const auto& k : page->keys) seen.push_back(k.key_id);
    marker = page->next_marker;
    ++pages;
  } while (!marker.empty());
  EXPECT_EQ(seen, ids);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(error_type(keys_->list_keys(2, "bogus").status()), "InvalidMarkerException");

  for (const char* a : {"alias/c", "alias/a", "alias/b"})
    ASSERT_TRUE(keys_->create_alias(a, ids[0]).ok());
  ASSERT_TRUE(keys_->create_alias("alias/other", ids[1]).ok());
  auto first = keys_->list_aliases("", 2, "");
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->aliases.size(), 2u);
  EXPECT_EQ(first->aliases[0].name, "alias/a");
  EXPECT_EQ(first->aliases[0].target_key_id, ids[0]);
  EXPECT_EQ(first->next_marker, "alias/b");
  auto rest = keys_->list_aliases("", 10, first->next_marker);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->aliases.size(), 2u);
  EXPECT_EQ(rest->aliases[1].name, "alias/other");
  EXPECT_TRUE(rest->next_marker.empty());
  auto of_key = keys_->list_aliases(ids[1], 10, "");
  ASSERT_TRUE(of_key.ok());
  ASSERT_EQ(of_key->aliases.size(), 1u);
  EXPECT_EQ(of_key->aliases[0].name, "alias/other");
  EXPECT_EQ(error_type(keys_->list_aliases("alias/none", 10, "").status()), "NotFoundException");
}

TEST_F(KeyRingTest, TheDefaultS3KeyIsMadeOnceAndManagedByAws) {
  auto first = keys_->default_s3_key();
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(first->manager, KeyManager::kAws);
  auto second = keys_->default_s3_key();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->key_id, first->key_id);
  EXPECT_EQ(keys_->describe_key(kDefaultS3Alias)->key_id, first->key_id);
  EXPECT_EQ(error_type(keys_->schedule_deletion(first->key_id, 7).status()),
            "KMSInvalidStateException");
}

TEST_F(KeyRingTest, KeysSurviveARestartOfTheRing) {
  KeyMetadata key = make_key();
  auto encrypted = keys_->encrypt(key.key_id, "kept", {});
  ASSERT_TRUE(encrypted.ok());
  KeyRingOptions options;
  options.dir = dir_ / "kms";
  options.now_ms = [this] { return now_.load(); };
  options.new_id = [] { return new_uuid(); };
  KeyRing reopened(*store_, options);
  auto decrypted = reopened.decrypt(encrypted->blob, {});
  ASSERT_TRUE(decrypted.ok()) << decrypted.status().message();
  EXPECT_EQ(decrypted->plaintext, "kept");
}

TEST_F(KeyRingTest, MissingMaterialIsAnInternalErrorNamingTheKey) {
  KeyMetadata key = make_key();
  KeyRingOptions options;
  options.dir = dir_ / "kms";
  options.now_ms = [this] { return now_.load(); };
  options.new_id = [] { return new_uuid(); };
  KeyRing fresh(*store_, options);  // no cached material
  std::filesystem::remove(dir_ / "kms" / key.key_id);
  auto refused = fresh.encrypt(key.key_id, "x", {});
  EXPECT_EQ(error_type(refused.status()), "KMSInternalException");
  EXPECT_TRUE(contains(refused.status().message(), key.arn)) << refused.status().message();
}

TEST_F(KeyRingTest, DataKeysAreFreshAndDecryptToTheirPlaintext) {
  KeyMetadata key = make_key();
  auto a = keys_->generate_data_key(key.key_id, 32, {{"k", "v"}});
  auto b = keys_->generate_data_key(key.key_id, 32, {{"k", "v"}});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->plaintext.size(), 32u);
  EXPECT_NE(a->plaintext, b->plaintext);
  auto back = keys_->decrypt(a->blob, {{"k", "v"}});
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->plaintext, a->plaintext);
  EXPECT_EQ(error_type(keys_->generate_data_key(key.key_id, 0, {}).status()),
            "ValidationException");
}

TEST_F(KeyRingTest, ManyThreadsCanEncryptAndDecryptAtOnce) {
  KeyMetadata key = make_key();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        std::string text = "thread " + std::to_string(t) + " item " + std::to_string(i);
        auto e = keys_->encrypt(key.key_id, text, {});
        if (!e.ok()) {
          ++failures;
          continue;
        }
        auto d = keys_->decrypt(e->blob, {});
        if (!d.ok() || d->plaintext != text) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace stageline::kms
