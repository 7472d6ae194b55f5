// The S3 deploy provider as the in-process runner runs it: a ProviderContext
// over a real object store on a temporary disk, with an extracted input
// artifact.
#include "providers/s3_deploy/s3_deploy.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "artifacts/artifact_store.h"
#include "artifacts/test_util.h"
#include "artifacts/zip.h"

namespace stageline::providers {
namespace {

namespace fs = std::filesystem;
using artifacts::testing::read_file;
using artifacts::testing::TempDir;
using artifacts::testing::write_file;

constexpr const char* kSite = "my-site-bucket";

class S3DeployTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto objects = artifacts::ObjectStore::open({dir_ / "objects"});
    ASSERT_TRUE(objects.ok()) << objects.status().message();
    objects_ = std::move(*objects);
    ASSERT_TRUE(objects_->create_bucket(kSite).ok());
    store_ = std::make_unique<artifacts::ArtifactStore>(
        *objects_, cipher_, artifacts::ArtifactStoreOptions{dir_ / "tmp"});
    write_file(input_ / "index.html", "<h1>hello</h1>\n");
    write_file(input_ / "css" / "site.css", "h1 { color: red }\n");
    write_file(input_ / "data.bin", "\x01\x02");
  }

  engine::ActionStart start(model::StringMap configuration) {
    engine::ActionStart s;
    s.pipeline_name = "site";
    s.execution_id = "e-1";
    s.stage_name = "Deploy";
    s.action.name = "Publish";
    s.action.action_type_id = {model::ActionCategory::kDeploy, model::ActionOwner::kAws, "S3", "1"};
    s.action.configuration = std::move(configuration);
    return s;
  }

  engine::ActionOutcome run(const engine::ActionStart& s,
                            artifacts::ObjectCipher* cipher = nullptr) {
    fs::path workspace = dir_ / ("ws-" + std::to_string(++runs_));
    fs::create_directories(workspace);
    S3DeployOptions options;
    options.cipher = cipher;
    options.now = [] { return std::chrono::system_clock::from_time_t(1795000000); };
    options.new_uuid = [] { return std::string("0b5c3a9e-1111-4222-8333-444455556666"); };
    S3Deploy provider(*objects_, options);
    jobs::ProviderContext context{s,
                                  workspace,
                                  {{"BuildOutput", input_}},
                                  *store_,
                                  [this](std::string_view chunk) { log_ += chunk; },
                                  [] { return false; }};
    return provider.run(context);
  }

  TempDir dir_;
  fs::path input_ = dir_ / "input";
  std::unique_ptr<artifacts::ObjectStore> objects_;
  artifacts::PassThroughCipher cipher_;
  std::unique_ptr<artifacts::ArtifactStore> store_;
  std::string log_;
  int runs_ = 0;
};

TEST_F(S3DeployTest, ExtractPutsEveryFileUnderThePrefixWithItsContentType) {
  auto o = run(start({{"BucketName", kSite},
                      {"Extract", "true"},
                      {"ObjectKey", "release/"},
                      {"CacheControl", "max-age=60"}}));
  ASSERT_TRUE(o.succeeded) << o.error_message;
  EXPECT_EQ(o.summary,
            "Deployed 3 files (35 bytes) of BuildOutput to s3://my-site-bucket/release/");
  auto index = objects_->head_object(kSite, "release/index.html");
  ASSERT_TRUE(index.ok()) << index.status().message();
  EXPECT_EQ(index->content_type, "text/html");
  EXPECT_EQ(index->metadata, (artifacts::Metadata{{"cache-control", "max-age=60"}}));
  EXPECT_EQ(objects_->head_object(kSite, "release/css/site.css")->content_type, "text/css");
  EXPECT_EQ(objects_->head_object(kSite, "release/data.bin")->content_type,
            "application/octet-stream");
  EXPECT_EQ(*objects_->get_object(kSite, "release/css/site.css"), "h1 { color: red }\n");
}

TEST_F(S3DeployTest, ExtractWithoutObjectKeyPutsFilesAtTheRootAndReplacesThem) {
  ASSERT_TRUE(run(start({{"BucketName", kSite}, {"Extract", "true"}})).succeeded);
  write_file(input_ / "index.html", "<h1>v2</h1>\n");
  ASSERT_TRUE(run(start({{"BucketName", kSite}, {"Extract", "true"}})).succeeded);
  EXPECT_EQ(*objects_->get_object(kSite, "index.html"), "<h1>v2</h1>\n");
  auto versions = objects_->list_object_versions(kSite, "index.html");
  ASSERT_TRUE(versions.ok());
  EXPECT_EQ(versions->size(), 1u) << "an unversioned bucket keeps one version";
}

TEST_F(S3DeployTest, NoExtractStoresTheArtifactAsAZipUnderTheExpandedKey) {
  auto o = run(start({{"BucketName", kSite},
                      {"Extract", "false"},
                      {"ObjectKey", "builds/{datetime}-{uuid}.zip"},
                      {"CannedACL", "public-read"}}));
  ASSERT_TRUE(o.succeeded) << o.error_message;
  const std::string key = "builds/2026-11-18_11-06-40-0b5c3a9e-1111-4222-8333-444455556666.zip";
  auto info = objects_->head_object(kSite, key);
  ASSERT_TRUE(info.ok()) << info.status().message() << "\n" << log_;
  EXPECT_EQ(info->content_type, "application/zip");
  EXPECT_EQ(info->metadata, (artifacts::Metadata{{"canned-acl", "public-read"}}));
  fs::path zip = dir_ / "got.zip";
  ASSERT_TRUE(objects_->get_object_to_file(kSite, key, "", zip).ok());
  ASSERT_TRUE(artifacts::extract_zip(zip, dir_ / "out", {}).ok());
  EXPECT_EQ(read_file(dir_ / "out" / "css" / "site.css"), "h1 { color: red }\n");
  EXPECT_FALSE(fs::exists(dir_ / "ws-1" / ".s3-deploy.zip")) << "the scratch zip is removed";
}

TEST_F(S3DeployTest, ConfigurationMistakesFailSayingWhatIsWrong) {
  auto o = run(start({{"BucketName", "no-such-bucket"}, {"Extract", "true"}}));
  EXPECT_EQ(o.error_code, "ConfigurationError");
  EXPECT_NE(o.error_message.find("no-such-bucket"), std::string::npos) << o.error_message;
  o = run(start({{"BucketName", kSite}, {"Extract", "yes"}}));
  EXPECT_EQ(o.error_message, "the S3 deploy's Extract must be true or false, not 'yes'");
  o = run(start({{"BucketName", kSite}, {"Extract", "false"}}));
  EXPECT_EQ(o.error_message, "the S3 deploy needs ObjectKey when Extract is false");
  o = run(start({{"BucketName", kSite}, {"Extract", "true"}, {"KMSEncryptionKeyARN", "arn:k"}}));
  EXPECT_EQ(o.error_code, "ConfigurationError");
  EXPECT_NE(o.error_message.find("there is no key service here"), std::string::npos);
}

// Seals by prefixing the KMS key's name; remembers what it was asked.
class NamingCipher final : public artifacts::ObjectCipher {
 public:
  std::string_view name() const override { return "naming"; }
  Result<artifacts::UniqueFd> seal(const artifacts::CipherContext& context,
                                   artifacts::UniqueFd plain, const fs::path& scratch) override {
    if (context.kms_key == "alias/gone") return Status::not_found("NotFoundException: alias/gone");
    contexts.push_back(context.bucket + "/" + context.key + " " + context.kms_key);
    std::string content = context.kms_key + ":";
    char buf[4096];
    ssize_t n;
    while ((n = ::read(plain.get(), buf, sizeof buf)) > 0)
      content.append(buf, static_cast<size_t>(n));
    fs::path out = scratch / ("sealed-" + std::to_string(contexts.size()));
    write_file(out, content);
    return artifacts::UniqueFd(::open(out.c_str(), O_RDONLY | O_CLOEXEC));
  }
  Result<artifacts::UniqueFd> unseal(const artifacts::CipherContext&, artifacts::UniqueFd stored,
                                     const fs::path&) override {
    return stored;
  }
  std::vector<std::string> contexts;
};

TEST_F(S3DeployTest, AKmsKeySealsEveryObjectUnderItsOwnBucketAndKey) {
  NamingCipher cipher;
  auto o = run(
      start({{"BucketName", kSite}, {"Extract", "true"}, {"KMSEncryptionKeyARN", "alias/site"}}),
      &cipher);
  ASSERT_TRUE(o.succeeded) << o.error_message;
  EXPECT_NE(o.summary.find("(encrypted with KMS key alias/site)"), std::string::npos);
  EXPECT_EQ(cipher.contexts, (std::vector<std::string>{"my-site-bucket/css/site.css alias/site",
                                                       "my-site-bucket/data.bin alias/site",
                                                       "my-site-bucket/index.html alias/site"}));
  EXPECT_EQ(*objects_->get_object(kSite, "index.html"), "alias/site:<h1>hello</h1>\n");
  auto gone = run(start({{"BucketName", kSite},
                         {"Extract", "false"},
                         {"ObjectKey", "b.zip"},
                         {"KMSEncryptionKeyARN", "alias/gone"}}),
                  &cipher);
  EXPECT_FALSE(gone.succeeded);
  EXPECT_NE(gone.error_message.find("s3://my-site-bucket/b.zip"), std::string::npos);
  EXPECT_NE(gone.error_message.find("alias/gone"), std::string::npos);
}

}  // namespace
}  // namespace stageline::providers
