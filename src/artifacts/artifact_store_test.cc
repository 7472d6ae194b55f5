#include "artifacts/artifact_store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <zip.h>

#include "artifacts/test_util.h"
#include "base/strings.h"

namespace stageline::artifacts {
namespace {

namespace fs = std::filesystem;
using testing::count_entries;
using testing::read_file;
using testing::snapshot;
using testing::TempDir;
using testing::write_file;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// A toy cipher (XOR with a fixed byte, into a scratch file) that proves the
// seam: whatever seal() stores, unseal() must get back before extraction.
class XorCipher final : public ObjectCipher {
 public:
  std::string_view name() const override { return "xor-test"; }
  Result<UniqueFd> seal(const CipherContext&, UniqueFd in, const fs::path& scratch) override {
    return transform(std::move(in), scratch / "sealed");
  }
  Result<UniqueFd> unseal(const CipherContext&, UniqueFd in, const fs::path& scratch) override {
    return transform(std::move(in), scratch / "unsealed");
  }

 private:
  static Result<UniqueFd> transform(UniqueFd in, const fs::path& out_path) {
    UniqueFd out(::open(out_path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!out.valid()) return Status::io("open " + out_path.string());
    char buf[4096];
    ssize_t n;
    while ((n = ::read(in.get(), buf, sizeof buf)) > 0) {
      for (ssize_t i = 0; i < n; ++i) buf[i] ^= 0x5a;
      if (::write(out.get(), buf, static_cast<size_t>(n)) != n) return Status::io("write");
    }
    if (n < 0 || ::lseek(out.get(), 0, SEEK_SET) != 0) return Status::io("read or seek");
    return out;
  }
};

class ArtifactStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = ObjectStore::open({dir_ / "objects"});
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    objects_ = std::move(*opened);
    ASSERT_TRUE(objects_->create_bucket("codepipeline-us-east-1-123456789012").ok());
    write_file(dir_ / "ws" / "buildspec.yml", "version: 0.2\n");
    write_file(dir_ / "ws" / "scripts" / "deploy.sh", "#!/bin/sh\n", 0755);
    fs::create_symlink("scripts/deploy.sh", dir_ / "ws" / "deploy");
  }

  ArtifactStore store(ObjectCipher& cipher) {
    return ArtifactStore(*objects_, cipher, {scratch()});
  }
  fs::path scratch() const { return dir_ / "tmp"; }

  static constexpr const char* kBucket = "codepipeline-us-east-1-123456789012";
  TempDir dir_;
  std::unique_ptr<ObjectStore> objects_;
  PassThroughCipher plain_;
};

TEST_F(ArtifactStoreTest, KeyPrefixTruncatesPipelineToTwentyAndArtifactToTenCharacters) {
  EXPECT_EQ(ArtifactStore::key_prefix("CodeBuild-Python-Pipeline", "SourceArtifact"),
            "CodeBuild-Python-Pip/SourceArti/");
  EXPECT_EQ(ArtifactStore::key_prefix("MyFirstPipeline", "MyApp"), "MyFirstPipeline/MyApp/");
  EXPECT_EQ(ArtifactStore::key_prefix("MyGitHubPipeline", "BuildArtifact"),
            "MyGitHubPipeline/BuildArtif/");
}

TEST_F(ArtifactStoreTest, PutStoresAZipUnderCodePipelinesKeyLayout) {
  auto artifacts = store(plain_);
  auto stored = artifacts.put_artifact(kBucket, "CodeBuild-Python-Pipeline", "SourceArtifact",
                                       dir_ / "ws", {"**/*"});
  ASSERT_TRUE(stored.ok()) << stored.status().message();
  const auto& key = stored->location.key;
  ASSERT_EQ(key.size(), std::string("CodeBuild-Python-Pip/SourceArti/").size() + 7) << key;
  EXPECT_TRUE(key.starts_with("CodeBuild-Python-Pip/SourceArti/")) << key;
  for (char c : key.substr(key.size() - 7))
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << key;
  EXPECT_EQ(stored->location.bucket, kBucket);
  EXPECT_EQ(stored->contents.files, 2u);
  EXPECT_EQ(stored->contents.symlinks, 1u);

  auto head = objects_->head_object(kBucket, key);
  ASSERT_TRUE(head.ok()) << head.status().message();
  EXPECT_EQ(head->version_id, stored->location.version_id);
  EXPECT_EQ(head->etag, stored->location.etag);
  EXPECT_EQ(head->size, stored->size_bytes);
  auto bytes = objects_->get_object(kBucket, key);
  ASSERT_TRUE(bytes.ok());
  EXPECT_TRUE(bytes->starts_with("PK\x03\x04")) << "a plain zip";
  EXPECT_EQ(count_entries(scratch()), 0u);

  auto again = artifacts.put_artifact(kBucket, "CodeBuild-Python-Pipeline", "SourceArtifact",
                                      dir_ / "ws", {"**/*"});
  ASSERT_TRUE(again.ok());
  EXPECT_NE(again->location.key, key) << "each output gets its own random suffix";
}

TEST_F(ArtifactStoreTest, FetchRestoresTheTreeThatWasPut) {
  auto artifacts = store(plain_);
  auto stored = artifacts.put_artifact(kBucket, "p", "out", dir_ / "ws", {"**/*"});
  ASSERT_TRUE(stored.ok()) << stored.status().message();
  auto fetched = artifacts.fetch_artifact(stored->location, dir_ / "input", {});
  ASSERT_TRUE(fetched.ok()) << fetched.status().message();
  EXPECT_EQ(snapshot(dir_ / "ws"), snapshot(dir_ / "input"));
  EXPECT_EQ(count_entries(scratch()), 0u);

  model::ArtifactLocation latest = stored->location;
  latest.version_id.clear();
  EXPECT_TRUE(artifacts.fetch_artifact(latest, dir_ / "input2", {}).ok());
}

TEST_F(ArtifactStoreTest, TheCipherSeamSealsWhatIsStoredAndUnsealsWhatIsFetched) {
  XorCipher cipher;
  auto artifacts = store(cipher);
  auto stored = artifacts.put_artifact(kBucket, "p", "out", dir_ / "ws", {"**/*"});
  ASSERT_TRUE(stored.ok()) << stored.status().message();
  auto bytes = objects_->get_object(kBucket, stored->location.key);
  ASSERT_TRUE(bytes.ok());
  EXPECT_FALSE(bytes->starts_with("PK")) << "the stored bytes are the sealed form";

  auto fetched = artifacts.fetch_artifact(stored->location, dir_ / "input", {});
  ASSERT_TRUE(fetched.ok()) << fetched.status().message();
  EXPECT_EQ(snapshot(dir_ / "ws"), snapshot(dir_ / "input"));
  EXPECT_EQ(count_entries(scratch()), 0u);

  // Without the cipher the stored bytes are not a zip.
  auto unsealed = store(plain_).fetch_artifact(stored->location, dir_ / "raw", {});
  ASSERT_FALSE(unsealed.ok());
  EXPECT_TRUE(contains(unsealed.status().message(), "not a readable zip archive"))
      << unsealed.status().message();
}

TEST_F(ArtifactStoreTest, FetchRefusesAnObjectWhoseETagIsNotTheRecordedOne) {
  auto artifacts = store(plain_);
  auto stored = artifacts.put_artifact(kBucket, "p", "out", dir_ / "ws", {"**/*"});
  ASSERT_TRUE(stored.ok());
  model::ArtifactLocation wrong = stored->location;
  wrong.etag = "00000000000000000000000000000000";
  auto fetched = artifacts.fetch_artifact(wrong, dir_ / "input", {});
  EXPECT_EQ(fetched.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_FALSE(fs::exists(dir_ / "input"));
}

TEST_F(ArtifactStoreTest, FetchingAHostileObjectIsRefusedAndWritesNothingOutside) {
  fs::path evil = dir_ / "evil.zip";
  int err = 0;
  zip_t* za = zip_open(evil.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  ASSERT_NE(za, nullptr);
  static const char kData[] = "evil";
  ASSERT_GE(zip_file_add(za, "../../escaped", zip_source_buffer(za, kData, 4, 0), 0), 0);
  ASSERT_EQ(zip_close(za), 0);
  auto put = objects_->put_object_from_file(kBucket, "p/out/EVIL123", evil);
  ASSERT_TRUE(put.ok());

  auto fetched =
      store(plain_).fetch_artifact({kBucket, "p/out/EVIL123", "", ""}, dir_ / "a" / "input", {});
  ASSERT_FALSE(fetched.ok());
  EXPECT_TRUE(contains(fetched.status().message(), "fetch artifact")) << fetched.status().message();
  EXPECT_TRUE(contains(fetched.status().message(), "entry '../../escaped'"))
      << fetched.status().message();
  EXPECT_FALSE(fs::exists(dir_ / "escaped"));
  EXPECT_FALSE(fs::exists(dir_ / "a" / "escaped"));
}

TEST_F(ArtifactStoreTest, MissingBucketKeyOrFilesFailWithContextAndLeaveNoScratch) {
  auto artifacts = store(plain_);
  auto no_bucket = artifacts.put_artifact("no-such-bucket", "p", "out", dir_ / "ws", {"**/*"});
  EXPECT_EQ(no_bucket.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(contains(no_bucket.status().message(), "NoSuchBucket"))
      << no_bucket.status().message();

  auto no_files = artifacts.put_artifact(kBucket, "p", "out", dir_ / "ws", {"*.jar"});
  EXPECT_EQ(no_files.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(contains(no_files.status().message(), "store artifact 'out' of pipeline 'p'"))
      << no_files.status().message();
  EXPECT_EQ(count_entries(scratch()), 0u);

  auto no_key = artifacts.fetch_artifact({kBucket, "p/out/MISSING", "", ""}, dir_ / "in", {});
  EXPECT_EQ(no_key.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(contains(no_key.status().message(), "NoSuchKey")) << no_key.status().message();
  EXPECT_EQ(count_entries(objects_->options().root / kBucket), 1u);  // only .bucket
}

TEST_F(ArtifactStoreTest, PutArtifactFileSealsAndStoresAZipBuiltElsewhere) {
  // A zip made by someone else (a source provider), read back through the
  // cipher seam like any artifact.
  ASSERT_TRUE(create_zip(dir_ / "ws", dir_ / "made.zip", {"**/*"}).ok());
  XorCipher cipher;
  auto artifacts = store(cipher);
  auto stored =
      artifacts.put_artifact_file(kBucket, "MyGitHubPipeline", "SourceArtifact", dir_ / "made.zip");
  ASSERT_TRUE(stored.ok()) << stored.status().message();
  EXPECT_TRUE(stored->location.key.starts_with("MyGitHubPipeline/SourceArti/"));
  EXPECT_EQ(stored->location.key.size(), std::string("MyGitHubPipeline/SourceArti/").size() + 7);
  EXPECT_TRUE(fs::exists(dir_ / "made.zip")) << "the caller's file is left alone";
  auto bytes = objects_->get_object(kBucket, stored->location.key);
  ASSERT_TRUE(bytes.ok());
  EXPECT_FALSE(bytes->starts_with("PK")) << "sealed like put_artifact";
  EXPECT_EQ(stored->size_bytes, bytes->size());

  auto fetched = artifacts.fetch_artifact(stored->location, dir_ / "input", {});
  ASSERT_TRUE(fetched.ok()) << fetched.status().message();
  EXPECT_EQ(snapshot(dir_ / "ws"), snapshot(dir_ / "input"));
  EXPECT_EQ(count_entries(scratch()), 0u);
}

TEST_F(ArtifactStoreTest, PutArtifactFileRefusesAMissingFileADirectoryAndAMissingBucket) {
  auto artifacts = store(plain_);
  auto missing = artifacts.put_artifact_file(kBucket, "p", "out", dir_ / "nothing.zip");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(contains(missing.status().message(), "nothing.zip")) << missing.status().message();

  auto directory = artifacts.put_artifact_file(kBucket, "p", "out", dir_ / "ws");
  EXPECT_EQ(directory.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(contains(directory.status().message(), "not a regular file"))
      << directory.status().message();

  ASSERT_TRUE(create_zip(dir_ / "ws", dir_ / "made.zip", {"**/*"}).ok());
  auto no_bucket = artifacts.put_artifact_file("no-such-bucket", "p", "out", dir_ / "made.zip");
  EXPECT_EQ(no_bucket.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(contains(no_bucket.status().message(), "NoSuchBucket"))
      << no_bucket.status().message();
  EXPECT_EQ(count_entries(objects_->options().root / kBucket), 1u);  // only .bucket
}

// Records the contexts it is given; stores plaintext.
class RecordingCipher final : public ObjectCipher {
 public:
  std::string_view name() const override { return "recording"; }
  Result<UniqueFd> seal(const CipherContext& c, UniqueFd in, const fs::path&) override {
    sealed.push_back(c);
    return in;
  }
  Result<UniqueFd> unseal(const CipherContext& c, UniqueFd in, const fs::path&) override {
    unsealed.push_back(c);
    return in;
  }
  std::vector<CipherContext> sealed, unsealed;
};

TEST_F(ArtifactStoreTest, ThePipelinesEncryptionKeyReachesTheCipherWithTheObjectItSeals) {
  RecordingCipher cipher;
  auto artifacts = store(cipher);
  auto put = artifacts.put_artifact(kBucket, "p", "out", dir_ / "ws", {"**/*"}, "alias/mine");
  ASSERT_TRUE(put.ok()) << put.status().message();
  ASSERT_TRUE(create_zip(dir_ / "ws", dir_ / "made.zip", {"**/*"}).ok());
  auto file = artifacts.put_artifact_file(kBucket, "p", "src", dir_ / "made.zip");
  ASSERT_TRUE(file.ok()) << file.status().message();
  ASSERT_EQ(cipher.sealed.size(), 2u);
  EXPECT_EQ(cipher.sealed[0].bucket, kBucket);
  EXPECT_EQ(cipher.sealed[0].key, put->location.key);
  EXPECT_EQ(cipher.sealed[0].kms_key, "alias/mine");
  EXPECT_EQ(cipher.sealed[1].key, file->location.key);
  EXPECT_EQ(cipher.sealed[1].kms_key, "") << "no key: the bucket's default decides";

  ASSERT_TRUE(artifacts.fetch_artifact(put->location, dir_ / "input", {}).ok());
  ASSERT_EQ(cipher.unsealed.size(), 1u);
  EXPECT_EQ(cipher.unsealed[0].key, put->location.key);
}

TEST_F(ArtifactStoreTest, ASealFailureFailsThePutWithTheCiphersMessageAndLeavesNothing) {
  class RefusingCipher final : public ObjectCipher {
   public:
    std::string_view name() const override { return "refusing"; }
    Result<UniqueFd> seal(const CipherContext& c, UniqueFd, const fs::path&) override {
      return Status::not_found("NotFoundException: key " + quote(c.kms_key) + " for " + c.key);
    }
    Result<UniqueFd> unseal(const CipherContext&, UniqueFd in, const fs::path&) override {
      return in;
    }
  } cipher;
  auto put = store(cipher).put_artifact(kBucket, "p", "out", dir_ / "ws", {"**/*"}, "alias/gone");
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(contains(put.status().message(), "key 'alias/gone' for p/out/"))
      << put.status().message();
  EXPECT_TRUE(contains(put.status().message(), "store artifact 'out' of pipeline 'p'"))
      << put.status().message();
  EXPECT_EQ(count_entries(objects_->options().root / kBucket), 1u);  // only .bucket
  EXPECT_EQ(count_entries(scratch()), 0u);
}

}  // namespace
}  // namespace stageline::artifacts
