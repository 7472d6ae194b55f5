#include "artifacts/object_store.h"

#include <gtest/gtest.h>

#include <fcntl.h>

#include <functional>

#include "artifacts/test_util.h"

namespace stageline::artifacts {
namespace {

namespace fs = std::filesystem;
using testing::count_entries;
using testing::md5sum_of;
using testing::read_file;
using testing::TempDir;
using testing::write_file;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

class ObjectStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { open_store(); }

  void open_store(WriteSyscalls& syscalls = WriteSyscalls::real(), uint64_t max = 1 << 20) {
    store_.reset();
    auto opened = ObjectStore::open({dir_ / "objects", max}, syscalls);
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    store_ = std::move(*opened);
    if (!store_->head_bucket("artifacts").ok()) {
      ASSERT_TRUE(store_->create_bucket("artifacts").ok());
    }
  }

  fs::path temp_dir() const { return dir_ / "objects" / ".tmp"; }

  TempDir dir_;
  std::unique_ptr<ObjectStore> store_;
};

TEST_F(ObjectStoreTest, BucketsAreCreatedListedAndDeleted) {
  ASSERT_TRUE(store_->create_bucket("codepipeline-us-east-1-123456789012").ok());
  auto again = store_->create_bucket("artifacts");
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists);
  EXPECT_TRUE(contains(again.message(), "BucketAlreadyExists")) << again.message();

  auto buckets = store_->list_buckets();
  ASSERT_TRUE(buckets.ok()) << buckets.status().message();
  ASSERT_EQ(buckets->size(), 2u);
  EXPECT_EQ((*buckets)[0].name, "artifacts");
  EXPECT_EQ((*buckets)[1].name, "codepipeline-us-east-1-123456789012");
  auto age = std::chrono::system_clock::now() - (*buckets)[0].created;
  EXPECT_LT(age, std::chrono::minutes(1));

  ASSERT_TRUE(store_->delete_bucket("artifacts").ok());
  auto head = store_->head_bucket("artifacts");
  EXPECT_EQ(head.code(), StatusCode::kNotFound);
  EXPECT_TRUE(contains(head.message(), "NoSuchBucket")) << head.message();
  EXPECT_EQ(store_->delete_bucket("artifacts").code(), StatusCode::kNotFound);
}

TEST_F(ObjectStoreTest, BucketNamesFollowS3Rules) {
  for (const char* good : {"abc", "my.bucket-1", "codepipeline-eu-west-1-000000000000"}) {
    EXPECT_TRUE(ObjectStore::validate_bucket_name(good).ok()) << good;
  }
  for (const char* bad : {"ab", "Upper", "under_score", "-start", "end-", "a..b", "192.168.1.1",
                          "xn--abc", "name-s3alias", ".tmp", "../etc",
                          "a234567890123456789012345678901234567890123456789012345678901234"}) {
    auto s = ObjectStore::validate_bucket_name(bad);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_TRUE(contains(s.message(), "InvalidBucketName")) << s.message();
    EXPECT_FALSE(store_->create_bucket(bad).ok()) << bad;
  }
}

TEST_F(ObjectStoreTest, PutThenGetAndHeadReturnTheContentAndItsDescription) {
  auto put = store_->put_object("artifacts", "pipe/Source/abc1234", "hello, world\n");
  ASSERT_TRUE(put.ok()) << put.status().message();
  EXPECT_EQ(put->size, 13u);
  EXPECT_EQ(put->version_id.size(), 24u);

  auto head = store_->head_object("artifacts", "pipe/Source/abc1234");
  ASSERT_TRUE(head.ok()) << head.status().message();
  EXPECT_EQ(*head, *put);
  auto age = std::chrono::system_clock::now() - head->last_modified;
  EXPECT_GE(age, std::chrono::seconds(0));
  EXPECT_LT(age, std::chrono::minutes(1));

  auto got = store_->get_object("artifacts", "pipe/Source/abc1234");
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(*got, "hello, world\n");

  auto to_file = store_->get_object_to_file("artifacts", "pipe/Source/abc1234", "", dir_ / "out");
  ASSERT_TRUE(to_file.ok()) << to_file.status().message();
  EXPECT_EQ(read_file(dir_ / "out"), "hello, world\n");
}

TEST_F(ObjectStoreTest, ETagIsTheMd5sumOfTheContent) {
  std::string content;
  for (int i = 0; i < 100000; ++i) content += static_cast<char>(i * 7 % 251);
  write_file(dir_ / "payload.bin", content);
  auto put = store_->put_object_from_file("artifacts", "payload", dir_ / "payload.bin");
  ASSERT_TRUE(put.ok()) << put.status().message();
  EXPECT_EQ(put->etag, md5sum_of(dir_ / "payload.bin"));
  EXPECT_EQ(put->size, content.size());

  auto empty = store_->put_object("artifacts", "empty", "");
  ASSERT_TRUE(empty.ok()) << empty.status().message();
  EXPECT_EQ(empty->etag, "d41d8cd98f00b204e9800998ecf8427e");  // MD5 of nothing
}

TEST_F(ObjectStoreTest, EachPutMakesANewVersionAndTheLatestIsTheDefault) {
  auto v1 = store_->put_object("artifacts", "k", "one");
  auto v2 = store_->put_object("artifacts", "k", "two");
  ASSERT_TRUE(v1.ok() && v2.ok());
  EXPECT_LT(v1->version_id, v2->version_id);
  EXPECT_EQ(*store_->get_object("artifacts", "k"), "two");
  EXPECT_EQ(*store_->get_object("artifacts", "k", v1->version_id), "one");

  auto versions = store_->list_object_versions("artifacts", "k");
  ASSERT_TRUE(versions.ok()) << versions.status().message();
  ASSERT_EQ(versions->size(), 2u);
  EXPECT_EQ((*versions)[0], *v2);
  EXPECT_EQ((*versions)[1], *v1);

  ASSERT_TRUE(store_->delete_object("artifacts", "k", v2->version_id).ok());
  EXPECT_EQ(*store_->get_object("artifacts", "k"), "one");
}

TEST_F(ObjectStoreTest, DeletingAKeyRemovesEveryVersionAndItsEmptyDirectories) {
  ASSERT_TRUE(store_->put_object("artifacts", "a/b/c", "1").ok());
  ASSERT_TRUE(store_->put_object("artifacts", "a/b/c", "2").ok());
  ASSERT_TRUE(store_->put_object("artifacts", "a/x", "3").ok());

  auto not_empty = store_->delete_bucket("artifacts");
  EXPECT_EQ(not_empty.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(contains(not_empty.message(), "BucketNotEmpty")) << not_empty.message();

  ASSERT_TRUE(store_->delete_object("artifacts", "a/b/c").ok());
  EXPECT_EQ(store_->head_object("artifacts", "a/b/c").status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(dir_ / "objects" / "artifacts" / "a" / "b"));
  EXPECT_TRUE(store_->head_object("artifacts", "a/x").ok());

  ASSERT_TRUE(store_->delete_object("artifacts", "a/x").ok());
  EXPECT_EQ(count_entries(dir_ / "objects" / "artifacts"), 1u);         // only .bucket
  EXPECT_TRUE(store_->delete_object("artifacts", "never/there").ok());  // as S3 does
  EXPECT_TRUE(store_->delete_bucket("artifacts").ok());
}

TEST_F(ObjectStoreTest, ListingIsInKeyOrderFilteredByPrefixAndPaginated) {
  for (const char* key : {"b", "a/c/d", "a-c", "a/b", "ab"}) {
    ASSERT_TRUE(store_->put_object("artifacts", key, key).ok()) << key;
  }
  std::vector<std::string> all;
  ListObjectsRequest request;
  request.max_keys = 2;
  int pages = 0;
  do {
    auto page = store_->list_objects("artifacts", request);
    ASSERT_TRUE(page.ok()) << page.status().message();
    ++pages;
    for (const auto& o : page->objects) all.push_back(o.key);
    request.continuation_token = page->next_continuation_token;
  } while (!request.continuation_token.empty());
  EXPECT_EQ(all, (std::vector<std::string>{"a-c", "a/b", "a/c/d", "ab", "b"}));
  EXPECT_EQ(pages, 3);

  auto under_a = store_->list_objects("artifacts", {"a/", "", 1000});
  ASSERT_TRUE(under_a.ok());
  ASSERT_EQ(under_a->objects.size(), 2u);
  EXPECT_EQ(under_a->objects[0].key, "a/b");
  EXPECT_EQ(under_a->objects[1].key, "a/c/d");

  auto partial = store_->list_objects("artifacts", {"a", "", 1000});
  ASSERT_TRUE(partial.ok());
  EXPECT_EQ(partial->objects.size(), 4u);  // a-c, a/b, a/c/d, ab

  EXPECT_TRUE(store_->list_objects("artifacts", {"../", "", 1000})->objects.empty());
  EXPECT_FALSE(store_->list_objects("artifacts", {"", "", 0}).ok());
}

TEST_F(ObjectStoreTest, KeysThatCouldEscapeTheBucketAreRejected) {
  const std::string bad_keys[] = {"../x",
                                  "a/../../x",
                                  "/etc/passwd",
                                  "a//b",
                                  "a/",
                                  "..",
                                  ".",
                                  "a/./b",
                                  std::string("a\0b", 3),
                                  "",
                                  std::string(1025, 'k')};
  for (const auto& key : bad_keys) {
    auto put = store_->put_object("artifacts", key, "evil");
    EXPECT_EQ(put.status().code(), StatusCode::kInvalidArgument) << key;
    EXPECT_FALSE(store_->head_object("artifacts", key).ok()) << key;
  }
  // Nothing was written anywhere: the root holds .tmp and the bucket only.
  EXPECT_EQ(count_entries(dir_ / "objects"), 2u);
  EXPECT_EQ(count_entries(temp_dir()), 0u);
  EXPECT_FALSE(fs::exists(dir_ / "x"));
}

TEST_F(ObjectStoreTest, OddButValidKeysMapToDistinctSafePaths) {
  const std::vector<std::string> keys = {".hidden", "@v",  "%41",  "A",       "a b/c?d",
                                         "...",     "é/ü", "x/@v", ".bucket", "a%2Fb"};
  for (const auto& key : keys) {
    auto put = store_->put_object("artifacts", key, "content of " + key);
    ASSERT_TRUE(put.ok()) << key << ": " << put.status().message();
  }
  for (const auto& key : keys) {
    auto got = store_->get_object("artifacts", key);
    ASSERT_TRUE(got.ok()) << key << ": " << got.status().message();
    EXPECT_EQ(*got, "content of " + key);
  }
  auto page = store_->list_objects("artifacts", {});
  ASSERT_TRUE(page.ok());
  std::vector<std::string> listed;
  for (const auto& o : page->objects) listed.push_back(o.key);
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(listed, sorted);
  // Every name on disk below the bucket is plain ASCII with no leading '.'
  // except the bucket's own file.
  for (auto it = fs::recursive_directory_iterator(dir_ / "objects" / "artifacts");
       it != fs::recursive_directory_iterator(); ++it) {
    std::string name = it->path().filename().string();
    if (name == ".bucket") continue;
    EXPECT_NE(name.front(), '.') << it->path();
    for (unsigned char c : name) EXPECT_LT(c, 0x80) << it->path();
  }
}

TEST_F(ObjectStoreTest, MissingBucketKeyOrVersionGiveS3Errors) {
  auto bucket = store_->get_object("nope", "k");
  EXPECT_EQ(bucket.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(contains(bucket.status().message(), "NoSuchBucket")) << bucket.status().message();
  auto put = store_->put_object("nope", "k", "x");
  EXPECT_TRUE(contains(put.status().message(), "NoSuchBucket")) << put.status().message();

  auto key = store_->head_object("artifacts", "k");
  EXPECT_EQ(key.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(contains(key.status().message(), "NoSuchKey")) << key.status().message();

  ASSERT_TRUE(store_->put_object("artifacts", "k", "x").ok());
  auto version = store_->get_object("artifacts", "k", "0000000000000000ffffffff");
  EXPECT_EQ(version.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(contains(version.status().message(), "NoSuchVersion")) << version.status().message();
}

TEST_F(ObjectStoreTest, AnObjectOverTheSizeLimitIsEntityTooLargeAndLeavesNothing) {
  open_store(WriteSyscalls::real(), 10);
  auto put = store_->put_object("artifacts", "big", "01234567890");
  EXPECT_EQ(put.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(contains(put.status().message(), "EntityTooLarge")) << put.status().message();
  EXPECT_TRUE(store_->put_object("artifacts", "fits", "0123456789").ok());

  // A pipe has no size up front: the limit is found while streaming.
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ASSERT_EQ(::write(fds[1], "0123456789ABCDEF", 16), 16);
  ::close(fds[1]);
  auto streamed = store_->put_object_from_fd("artifacts", "piped", fds[0]);
  ::close(fds[0]);
  EXPECT_TRUE(contains(streamed.status().message(), "EntityTooLarge"))
      << streamed.status().message();
  EXPECT_EQ(count_entries(temp_dir()), 0u);
  EXPECT_FALSE(store_->head_object("artifacts", "piped").ok());
}

// Writes like the real thing until `budget` bytes are used up, then fails
// like a full disk; or fails fsync. Runs `on_write` before each write.
class FullDisk : public WriteSyscalls {
 public:
  size_t budget = SIZE_MAX;
  bool fail_fsync = false;
  std::function<void()> on_write;

  ssize_t write(int fd, const void* data, size_t size) override {
    if (on_write) on_write();
    if (budget == 0) {
      errno = ENOSPC;
      return -1;
    }
    size_t n = std::min(size, budget);
    budget -= n;
    return WriteSyscalls::write(fd, data, n);
  }
  int fsync(int fd) override {
    if (fail_fsync) {
      errno = ENOSPC;
      return -1;
    }
    return WriteSyscalls::fsync(fd);
  }
};

TEST_F(ObjectStoreTest, DiskFullWhileWritingIsReportedAndRemovesTheTemporaryFile) {
  FullDisk disk;
  open_store(disk);
  ASSERT_TRUE(store_->put_object("artifacts", "k", "old").ok());
  disk.budget = 1000;
  auto put = store_->put_object("artifacts", "k", std::string(200000, 'x'));
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.status().code(), StatusCode::kIo);
  EXPECT_TRUE(contains(put.status().message(), "disk full (ENOSPC")) << put.status().message();
  EXPECT_EQ(count_entries(temp_dir()), 0u);
  EXPECT_EQ(*store_->get_object("artifacts", "k"), "old");
  EXPECT_EQ(store_->list_object_versions("artifacts", "k")->size(), 1u);
}

TEST_F(ObjectStoreTest, DiskFullAtFsyncIsReportedAndRemovesTheTemporaryFile) {
  FullDisk disk;
  open_store(disk);
  disk.fail_fsync = true;
  auto put = store_->put_object("artifacts", "k", "data");
  ASSERT_FALSE(put.ok());
  EXPECT_TRUE(contains(put.status().message(), "fsync")) << put.status().message();
  EXPECT_TRUE(contains(put.status().message(), "disk full")) << put.status().message();
  EXPECT_EQ(count_entries(temp_dir()), 0u);
  EXPECT_EQ(store_->head_object("artifacts", "k").status().code(), StatusCode::kNotFound);
}

TEST_F(ObjectStoreTest, AReaderNeverSeesAPartOfAnObjectBeingPut) {
  FullDisk disk;
  open_store(disk);
  auto old = store_->put_object("artifacts", "k", "old");
  ASSERT_TRUE(old.ok());
  int checks = 0;
  // Runs inside the put, between its writes: the half-written data must be
  // invisible to every read path.
  disk.on_write = [&] {
    ++checks;
    auto head = store_->head_object("artifacts", "k");
    ASSERT_TRUE(head.ok());
    EXPECT_EQ(*head, *old);
    EXPECT_EQ(*store_->get_object("artifacts", "k"), "old");
    auto page = store_->list_objects("artifacts", {});
    ASSERT_TRUE(page.ok());
    ASSERT_EQ(page->objects.size(), 1u);
    EXPECT_EQ(page->objects[0], *old);
  };
  std::string big(300000, 'n');
  ASSERT_TRUE(store_->put_object("artifacts", "k", big).ok());
  EXPECT_GE(checks, 5);  // 64 KiB chunks

  checks = 0;
  disk.on_write = [&] {
    ++checks;
    EXPECT_EQ(store_->head_object("artifacts", "new").status().code(), StatusCode::kNotFound);
    EXPECT_EQ(store_->list_objects("artifacts", {"new", "", 1000})->objects.size(), 0u);
  };
  ASSERT_TRUE(store_->put_object("artifacts", "new", big).ok());
  disk.on_write = nullptr;
  EXPECT_GE(checks, 5);
  EXPECT_EQ(*store_->get_object("artifacts", "k"), big);
  EXPECT_EQ(*store_->get_object("artifacts", "new"), big);
}

TEST_F(ObjectStoreTest, AnOpenedObjectKeepsItsContentThroughOverwriteAndDelete) {
  ASSERT_TRUE(store_->put_object("artifacts", "k", "first").ok());
  auto opened = store_->open_object("artifacts", "k");
  ASSERT_TRUE(opened.ok());
  ASSERT_TRUE(store_->put_object("artifacts", "k", "second").ok());
  ASSERT_TRUE(store_->delete_object("artifacts", "k").ok());
  char buf[16] = {};
  EXPECT_EQ(::read(opened->fd.get(), buf, sizeof buf), 5);
  EXPECT_EQ(std::string(buf), "first");
}

TEST_F(ObjectStoreTest, OpeningAgainRemovesTemporaryFilesACrashLeftBehind) {
  write_file(temp_dir() / "put-deadbeef", "half an object");
  fs::create_directories(temp_dir() / "bucket-cafe");
  open_store();
  EXPECT_EQ(count_entries(temp_dir()), 0u);
}

TEST_F(ObjectStoreTest, ContentTypeAndUserMetadataAreKeptPerVersion) {
  PutOptions options;
  options.content_type = "application/zip";
  options.metadata = {{"owner", "team: a"}, {"codepipeline-artifact-revision-summary", "v1"}};
  auto put = store_->put_object("artifacts", "k", "one", options);
  ASSERT_TRUE(put.ok()) << put.status().message();
  EXPECT_EQ(put->content_type, "application/zip");
  ASSERT_TRUE(store_->put_object("artifacts", "k", "two").ok());
  auto versions = store_->list_object_versions("artifacts", "k");
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->size(), 2u);
  EXPECT_EQ((*versions)[0].content_type, "");
  EXPECT_EQ((*versions)[1].content_type, "application/zip");
  EXPECT_EQ((*versions)[1].metadata, options.metadata);
  auto head = store_->head_object("artifacts", "k", put->version_id);
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(*head, *put);
}

TEST_F(ObjectStoreTest, ReplacingPutsLeaveOnlyTheNewVersion) {
  ASSERT_TRUE(store_->put_object("artifacts", "k", "one").ok());
  PutOptions replace;
  replace.replace = true;
  auto second = store_->put_object("artifacts", "k", "two", replace);
  ASSERT_TRUE(second.ok());
  auto versions = store_->list_object_versions("artifacts", "k");
  ASSERT_EQ(versions->size(), 1u);
  EXPECT_EQ((*versions)[0].version_id, second->version_id);
}

TEST_F(ObjectStoreTest, ADeleteMarkerHidesTheKeyUntilItIsRemoved) {
  auto put = store_->put_object("artifacts", "dir/k", "data");
  ASSERT_TRUE(put.ok());
  auto marker = store_->put_delete_marker("artifacts", "dir/k");
  ASSERT_TRUE(marker.ok()) << marker.status().message();
  EXPECT_TRUE(marker->delete_marker);
  auto head = store_->head_object("artifacts", "dir/k");
  EXPECT_EQ(head.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(contains(head.status().message(), "delete marker")) << head.status().message();
  EXPECT_EQ(*store_->get_object("artifacts", "dir/k", put->version_id), "data");
  EXPECT_TRUE(store_->list_objects("artifacts", {})->objects.empty());
  EXPECT_EQ(*store_->list_keys("artifacts", ""), std::vector<std::string>{"dir/k"});
  auto versions = store_->list_object_versions("artifacts", "dir/k");
  ASSERT_EQ(versions->size(), 2u);
  EXPECT_TRUE((*versions)[0].delete_marker);
  EXPECT_EQ(store_->delete_bucket("artifacts").code(), StatusCode::kFailedPrecondition);

  ASSERT_TRUE(store_->delete_object("artifacts", "dir/k", marker->version_id).ok());
  EXPECT_EQ(*store_->get_object("artifacts", "dir/k"), "data");
}

TEST_F(ObjectStoreTest, ADelimiterRollsKeysUpIntoCommonPrefixesThatPageAsOneEntry) {
  for (const char* key : {"a/1", "a/2", "a/b/3", "b", "c/1", "d"}) {
    ASSERT_TRUE(store_->put_object("artifacts", key, key).ok()) << key;
  }
  ListObjectsRequest request;
  request.delimiter = "/";
  auto all = store_->list_objects("artifacts", request);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->common_prefixes, (std::vector<std::string>{"a/", "c/"}));
  ASSERT_EQ(all->objects.size(), 2u);
  EXPECT_EQ(all->objects[0].key, "b");

  std::vector<std::string> entries;
  request.max_keys = 1;
  for (int i = 0; i < 10; ++i) {
    auto page = store_->list_objects("artifacts", request);
    ASSERT_TRUE(page.ok());
    for (const auto& p : page->common_prefixes) entries.push_back(p);
    for (const auto& o : page->objects) entries.push_back(o.key);
    request.continuation_token = page->next_continuation_token;
    if (request.continuation_token.empty()) break;
  }
  EXPECT_EQ(entries, (std::vector<std::string>{"a/", "b", "c/", "d"}));

  ListObjectsRequest under_a;
  under_a.prefix = "a/";
  under_a.delimiter = "/";
  auto page = store_->list_objects("artifacts", under_a);
  EXPECT_EQ(page->common_prefixes, std::vector<std::string>{"a/b/"});
  EXPECT_EQ(page->objects.size(), 2u);
}

TEST_F(ObjectStoreTest, BucketConfigurationDocumentsAreReplacedAndRemoved) {
  EXPECT_FALSE(store_->get_bucket_config("artifacts", "versioning")->has_value());
  ASSERT_TRUE(store_->put_bucket_config("artifacts", "versioning", "Enabled").ok());
  ASSERT_TRUE(store_->put_bucket_config("artifacts", "versioning", "Suspended").ok());
  EXPECT_EQ(**store_->get_bucket_config("artifacts", "versioning"), "Suspended");
  ASSERT_TRUE(store_->put_bucket_config("artifacts", "versioning", "").ok());
  EXPECT_FALSE(store_->get_bucket_config("artifacts", "versioning")->has_value());
  EXPECT_FALSE(store_->put_bucket_config("artifacts", "../x", "y").ok());
  EXPECT_EQ(store_->put_bucket_config("nope-bucket", "versioning", "Enabled").code(),
            StatusCode::kNotFound);
  // A configuration document is not an object: the bucket is still empty.
  ASSERT_TRUE(store_->put_bucket_config("artifacts", "lifecycle", "<x/>").ok());
  EXPECT_TRUE(store_->delete_bucket("artifacts").ok());
}

class MultipartTest : public ObjectStoreTest {
 protected:
  void SetUp() override {
    store_.reset();
    ObjectStoreOptions options;
    options.root = dir_ / "objects";
    options.min_part_bytes = 4;
    auto opened = ObjectStore::open(options);
    ASSERT_TRUE(opened.ok());
    store_ = std::move(*opened);
    ASSERT_TRUE(store_->create_bucket("artifacts").ok());
  }

  Result<PartInfo> part(const std::string& id, int number, const std::string& data) {
    fs::path file = dir_ / ("part-" + std::to_string(number));
    write_file(file, data);
    UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    return store_->upload_part("artifacts", "big", id, number, fd.get());
  }
};

TEST_F(MultipartTest, PartsAreJoinedInOrderUnderTheMultipartEtagAndTheUploadIsGone) {
  PutOptions options;
  options.content_type = "application/zip";
  auto id = store_->create_multipart_upload("artifacts", "big", options);
  ASSERT_TRUE(id.ok()) << id.status().message();
  auto p2 = part(*id, 2, "world");
  auto p1 = part(*id, 1, "hello ");
  ASSERT_TRUE(p1.ok() && p2.ok());
  auto replaced = part(*id, 1, "HELLO ");  // a part uploaded again replaces the first
  ASSERT_TRUE(replaced.ok());
  auto parts = store_->list_parts("artifacts", "big", *id);
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].etag, replaced->etag);
  EXPECT_EQ(store_->list_multipart_uploads("artifacts")->size(), 1u);

  auto done = store_->complete_multipart_upload("artifacts", "big", *id,
                                                {{1, replaced->etag}, {2, p2->etag}});
  ASSERT_TRUE(done.ok()) << done.status().message();
  EXPECT_EQ(*store_->get_object("artifacts", "big"), "HELLO world");
  EXPECT_TRUE(done->etag.ends_with("-2")) << done->etag;
  EXPECT_EQ(done->etag.size(), 32u + 2u);
  auto head = store_->head_object("artifacts", "big");
  EXPECT_EQ(head->etag, done->etag);
  EXPECT_EQ(head->content_type, "application/zip");
  EXPECT_TRUE(store_->list_multipart_uploads("artifacts")->empty());
  EXPECT_EQ(store_->list_parts("artifacts", "big", *id).status().code(), StatusCode::kNotFound);
}

TEST_F(MultipartTest, CompletionChecksPartsOrderAndSizes) {
  auto id = store_->create_multipart_upload("artifacts", "big", {});
  auto p1 = part(*id, 1, "ab");
  auto p2 = part(*id, 2, "cdef");
  auto small =
      store_->complete_multipart_upload("artifacts", "big", *id, {{1, p1->etag}, {2, p2->etag}});
  EXPECT_TRUE(contains(small.status().message(), "EntityTooSmall")) << small.status().message();
  auto order =
      store_->complete_multipart_upload("artifacts", "big", *id, {{2, p2->etag}, {1, p1->etag}});
  EXPECT_TRUE(contains(order.status().message(), "InvalidPartOrder"));
  auto wrong = store_->complete_multipart_upload("artifacts", "big", *id, {{1, p2->etag}});
  EXPECT_TRUE(contains(wrong.status().message(), "InvalidPart"));
  auto missing = store_->complete_multipart_upload("artifacts", "big", *id, {{3, p2->etag}});
  EXPECT_TRUE(contains(missing.status().message(), "InvalidPart"));
  EXPECT_EQ(part(*id, 0, "x").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(part(*id, 10001, "x").status().code(), StatusCode::kInvalidArgument);
  // A single small part is a whole object.
  auto one = store_->complete_multipart_upload("artifacts", "big", *id, {{1, p1->etag}});
  ASSERT_TRUE(one.ok()) << one.status().message();
  EXPECT_EQ(*store_->get_object("artifacts", "big"), "ab");
}

TEST_F(MultipartTest, AbortRemovesTheUploadAndUnknownIdsAreNoSuchUpload) {
  auto id = store_->create_multipart_upload("artifacts", "big", {});
  ASSERT_TRUE(part(*id, 1, "data").ok());
  ASSERT_TRUE(store_->abort_multipart_upload("artifacts", "big", *id).ok());
  auto again = store_->abort_multipart_upload("artifacts", "big", *id);
  EXPECT_EQ(again.code(), StatusCode::kNotFound);
  EXPECT_TRUE(contains(again.message(), "NoSuchUpload"));
  EXPECT_EQ(part("../../etc", 1, "x").status().code(), StatusCode::kNotFound);
  auto other = store_->create_multipart_upload("artifacts", "big", {});
  // The id is bound to its bucket and key.
  EXPECT_EQ(store_->list_parts("artifacts", "other-key", *other).status().code(),
            StatusCode::kNotFound);
  // Uploads survive a restart; a bucket with one in progress is still empty.
  open_store();
  EXPECT_EQ(store_->list_multipart_uploads("artifacts")->size(), 1u);
  EXPECT_EQ(count_entries(temp_dir()), 0u);
}

}  // namespace
}  // namespace stageline::artifacts
