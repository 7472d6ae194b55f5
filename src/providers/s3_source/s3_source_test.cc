// The S3 source provider as the in-process runner runs it: a ProviderContext
// over a real object store and artifact store on a temporary disk.
#include "providers/s3_source/s3_source.h"

#include <gtest/gtest.h>

#include "artifacts/artifact_store.h"
#include "artifacts/test_util.h"
#include "artifacts/zip.h"

namespace stageline::providers {
namespace {

namespace fs = std::filesystem;
using artifacts::testing::read_file;
using artifacts::testing::TempDir;
using artifacts::testing::write_file;

constexpr const char* kArtifacts = "codepipeline-us-east-1-111122223333";
constexpr const char* kSource = "my-source-bucket";

class S3SourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto objects = artifacts::ObjectStore::open({dir_ / "objects"});
    ASSERT_TRUE(objects.ok()) << objects.status().message();
    objects_ = std::move(*objects);
    ASSERT_TRUE(objects_->create_bucket(kArtifacts).ok());
    ASSERT_TRUE(objects_->create_bucket(kSource).ok());
    store_ = std::make_unique<artifacts::ArtifactStore>(
        *objects_, cipher_, artifacts::ArtifactStoreOptions{dir_ / "tmp"});
    first_ = put_zip("app/source.zip", "version one\n");
    second_ = put_zip("app/source.zip", "version two\n");
  }

  // Puts a zip holding file.txt with `content`; returns the version id.
  std::string put_zip(const std::string& key, const std::string& content) {
    fs::path src = dir_ / ("src-" + std::to_string(++runs_));
    write_file(src / "file.txt", content);
    fs::path zip = dir_ / ("zip-" + std::to_string(runs_) + ".zip");
    EXPECT_TRUE(artifacts::create_zip(src, zip, {"**/*"}).ok());
    auto info = objects_->put_object_from_file(kSource, key, zip);
    EXPECT_TRUE(info.ok()) << info.status().message();
    return info.ok() ? info->version_id : "";
  }

  engine::ActionStart start(model::StringMap configuration) {
    engine::ActionStart s;
    s.pipeline_name = "MyFirstPipeline";
    s.execution_id = "e-1";
    s.stage_name = "Source";
    s.action.name = "Source";
    s.action.action_type_id.category = model::ActionCategory::kSource;
    s.action.action_type_id.owner = model::ActionOwner::kAws;
    s.action.action_type_id.provider = "S3";
    s.action.action_type_id.version = "1";
    s.action.configuration = std::move(configuration);
    s.action.output_artifacts =
        std::vector<model::OutputArtifact>{{"SourceArtifact", std::nullopt}};
    s.artifact_bucket = kArtifacts;
    return s;
  }

  engine::ActionOutcome run(const engine::ActionStart& s) {
    fs::path workspace = dir_ / ("ws-" + std::to_string(++runs_));
    fs::create_directories(workspace);
    S3Source provider(*objects_);
    jobs::ProviderContext context{s,
                                  workspace,
                                  {},
                                  *store_,
                                  [this](std::string_view chunk) { log_ += chunk; },
                                  [] { return false; }};
    return provider.run(context);
  }

  std::string artifact_file(const engine::ActionOutcome& o) {
    EXPECT_EQ(o.artifacts.size(), 1u);
    if (o.artifacts.empty()) return "";
    fs::path out = dir_ / ("out-" + std::to_string(++runs_));
    auto fetched = store_->fetch_artifact(o.artifacts[0].location, out, {});
    EXPECT_TRUE(fetched.ok()) << fetched.status().message();
    return read_file(out / "file.txt");
  }

  TempDir dir_;
  std::unique_ptr<artifacts::ObjectStore> objects_;
  artifacts::PassThroughCipher cipher_;
  std::unique_ptr<artifacts::ArtifactStore> store_;
  std::string first_, second_, log_;
  int runs_ = 0;
};

TEST_F(S3SourceTest, TheLatestVersionBecomesTheArtifactWithEtagVersionIdAndRevision) {
  auto o = run(start({{"S3Bucket", kSource}, {"S3ObjectKey", "app/source.zip"}}));
  ASSERT_TRUE(o.succeeded) << o.error_code << ": " << o.error_message;
  EXPECT_EQ(artifact_file(o), "version two\n");
  EXPECT_EQ(o.output_variables.at("VersionId"), second_);
  auto head = objects_->head_object(kSource, "app/source.zip");
  EXPECT_EQ(o.output_variables.at("ETag"), head->etag);
  ASSERT_EQ(o.revisions.size(), 1u);
  EXPECT_EQ(o.revisions[0].revision_id, second_);
  EXPECT_EQ(o.revisions[0].revision_type, "S3_OBJECT_VERSION_ID");
  EXPECT_EQ(o.artifacts[0].name, "SourceArtifact");
  EXPECT_TRUE(o.artifacts[0].location.key.starts_with("MyFirstPipeline/SourceArti/"));
}

TEST_F(S3SourceTest, AVersionPinIsHonoured) {
  auto s = start({{"S3Bucket", kSource}, {"S3ObjectKey", "app/source.zip"}});
  s.revision_type = "S3_OBJECT_VERSION_ID";
  s.revision_value = first_;
  auto o = run(s);
  ASSERT_TRUE(o.succeeded) << o.error_message;
  EXPECT_EQ(artifact_file(o), "version one\n");
  EXPECT_EQ(o.output_variables.at("VersionId"), first_);
  EXPECT_EQ(o.revisions[0].revision_id, first_);
}

TEST_F(S3SourceTest, AMissingPinnedVersionIsRevisionUnavailable) {
  auto s = start({{"S3Bucket", kSource}, {"S3ObjectKey", "app/source.zip"}});
  s.revision_type = "S3_OBJECT_VERSION_ID";
  s.revision_value = "0000000000000000deadbeef";
  auto o = run(s);
  EXPECT_FALSE(o.succeeded);
  EXPECT_EQ(o.error_code, "RevisionUnavailable") << o.error_message;
}

TEST_F(S3SourceTest, AKeyPinNeedsAllowOverrideForS3ObjectKey) {
  put_zip("other.zip", "other\n");
  auto s = start({{"S3Bucket", kSource}, {"S3ObjectKey", "app/source.zip"}});
  s.revision_type = "S3_OBJECT_KEY";
  s.revision_value = "other.zip";
  auto refused = run(s);
  EXPECT_FALSE(refused.succeeded);
  EXPECT_EQ(refused.error_code, "ConfigurationError");
  EXPECT_NE(refused.error_message.find("AllowOverrideForS3ObjectKey"), std::string::npos);

  (*s.action.configuration)["AllowOverrideForS3ObjectKey"] = "true";
  auto o = run(s);
  ASSERT_TRUE(o.succeeded) << o.error_message;
  EXPECT_EQ(artifact_file(o), "other\n");
}

TEST_F(S3SourceTest, AMissingBucketOrKeyIsAConfigurationErrorNamingIt) {
  auto no_key = run(start({{"S3Bucket", kSource}, {"S3ObjectKey", "absent.zip"}}));
  EXPECT_EQ(no_key.error_code, "ConfigurationError");
  EXPECT_NE(no_key.error_message.find("NoSuchKey"), std::string::npos) << no_key.error_message;
  auto no_bucket = run(start({{"S3Bucket", "no-such-bucket"}, {"S3ObjectKey", "a.zip"}}));
  EXPECT_EQ(no_bucket.error_code, "ConfigurationError");
  EXPECT_NE(no_bucket.error_message.find("NoSuchBucket"), std::string::npos);
  auto s = start({{"S3Bucket", kSource}, {"S3ObjectKey", "app/source.zip"}});
  s.revision_type = "COMMIT_ID";
  s.revision_value = "abc";
  EXPECT_EQ(run(s).error_code, "ConfigurationError");
}

}  // namespace
}  // namespace stageline::providers
