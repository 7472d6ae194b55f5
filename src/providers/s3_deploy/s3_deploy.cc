#include "providers/s3_deploy/s3_deploy.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <map>

#include "artifacts/zip.h"
#include "base/content_type.h"

namespace stageline::providers {

namespace fs = std::filesystem;
using jobs::action_failure;
using jobs::config_value;

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void replace_all(std::string& text, std::string_view what, const std::string& with) {
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + with.size()))
    text.replace(at, what.size(), with);
}

// A put into a bucket whose versioning was never configured replaces the
// object, as S3 does (the S3 API decides the same way).
Result<artifacts::PutOptions> put_options(artifacts::ObjectStore& objects,
                                          const std::string& bucket,
                                          const model::ActionDeclaration& action) {
  auto versioning = objects.get_bucket_config(bucket, "versioning");
  if (!versioning.ok()) return versioning.status();
  artifacts::PutOptions options;
  options.replace = !versioning->has_value() || (*versioning)->empty();
  if (std::string c = config_value(action, "CacheControl"); !c.empty())
    options.metadata.emplace_back("cache-control", c);
  if (std::string a = config_value(action, "CannedACL"); !a.empty())
    options.metadata.emplace_back("canned-acl", a);
  return options;
}

}  // namespace

std::string S3Deploy::expand_key(const std::string& key) const {
  std::string out = key;
  if (out.find("{datetime}") != std::string::npos) {
    std::time_t t = std::chrono::system_clock::to_time_t(options_.now());
    std::tm utc{};
    gmtime_r(&t, &utc);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%d_%H-%M-%S", &utc);
    replace_all(out, "{datetime}", text);
  }
  if (out.find("{uuid}") != std::string::npos) replace_all(out, "{uuid}", options_.new_uuid());
  return out;
}

engine::ActionOutcome S3Deploy::run(const jobs::ProviderContext& context) {
  const model::ActionDeclaration& action = context.start.action;
  const std::string bucket = config_value(action, "BucketName");
  const std::string extract = lower(config_value(action, "Extract"));
  if (bucket.empty()) return action_failure("ConfigurationError", "the S3 deploy needs BucketName");
  if (extract != "true" && extract != "false")
    return action_failure("ConfigurationError",
                          "the S3 deploy's Extract must be true or false, not '" +
                              config_value(action, "Extract") + "'");
  if (context.inputs.size() != 1)
    return action_failure("ConfigurationError", "the S3 deploy takes exactly one input artifact");
  const std::string kms_key = config_value(action, "KMSEncryptionKeyARN");
  if (!kms_key.empty() && !options_.cipher)
    return action_failure("ConfigurationError",
                          "KMSEncryptionKeyARN " + kms_key +
                              ": there is no key service here (run the pipeline on `stageline "
                              "server`, which has KMS)");
  // Puts `file` at `key`, sealed under KMSEncryptionKeyARN when one is given.
  auto put_file = [&](const std::string& key, const fs::path& file,
                      const artifacts::PutOptions& put_options) -> Result<artifacts::ObjectInfo> {
    if (kms_key.empty()) return objects_.put_object_from_file(bucket, key, file, put_options);
    artifacts::UniqueFd plain(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (plain.get() < 0) return Status::io("open " + file.string() + ": " + std::strerror(errno));
    auto sealed =
        options_.cipher->seal({bucket, key, kms_key}, std::move(plain), context.workspace);
    if (!sealed.ok()) return sealed.status();
    return objects_.put_object_from_fd(bucket, key, sealed->get(), put_options);
  };
  if (Status s = objects_.head_bucket(bucket); !s.ok())
    return action_failure("ConfigurationError",
                          "the S3 deploy's bucket " + bucket + ": " + s.message());
  auto options = put_options(objects_, bucket, action);
  if (!options.ok()) return action_failure("JobFailed", options.status().message());
  const auto& [artifact_name, input_dir] = context.inputs[0];

  if (extract == "false") {
    std::string key = config_value(action, "ObjectKey");
    if (key.empty())
      return action_failure("ConfigurationError",
                            "the S3 deploy needs ObjectKey when Extract is false");
    key = expand_key(key);
    // The artifact as one zip: packed again from its extracted files (the
    // same entries, modes and symlinks as the stored artifact).
    const fs::path zip = context.workspace / ".s3-deploy.zip";
    auto packed = artifacts::create_zip(input_dir, zip, {"**/*"});
    if (!packed.ok())
      return action_failure("JobFailed",
                            "pack " + artifact_name + ": " + packed.status().message());
    options->content_type = "application/zip";
    auto put = put_file(key, zip, *options);
    std::error_code ec;
    fs::remove(zip, ec);
    if (!put.ok())
      return action_failure("JobFailed",
                            "put s3://" + bucket + "/" + key + ": " + put.status().message());
    context.output("Stored " + artifact_name + " as s3://" + bucket + "/" + key + " (" +
                   std::to_string(put->size) + " bytes, version " + put->version_id + ")\n");
    engine::ActionOutcome o;
    o.succeeded = true;
    o.summary = "Deployed " + artifact_name + " to s3://" + bucket + "/" + key +
                (kms_key.empty() ? "" : " (encrypted with KMS key " + kms_key + ")");
    return o;
  }

  std::string prefix = config_value(action, "ObjectKey");
  if (!prefix.empty()) {
    prefix = expand_key(prefix);
    while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
    prefix += '/';
  }
  // Files in a stable order, so the log reads the same every time.
  std::vector<fs::path> files;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(input_dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_symlink(ec)) {
      context.output("Skipped symlink " + fs::relative(it->path(), input_dir).string() + "\n");
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(ec)) files.push_back(it->path());
  }
  if (ec) return action_failure("JobFailed", "read " + artifact_name + ": " + ec.message());
  std::sort(files.begin(), files.end());
  uint64_t bytes = 0;
  for (const fs::path& file : files) {
    if (context.cancelled()) return action_failure("JobFailed", "stopped");
    const std::string key = prefix + fs::relative(file, input_dir).generic_string();
    artifacts::PutOptions put_options = *options;
    put_options.content_type = std::string(content_type_for(key));
    auto put = put_file(key, file, put_options);
    if (!put.ok())
      return action_failure("JobFailed",
                            "put s3://" + bucket + "/" + key + ": " + put.status().message());
    bytes += put->size;
    context.output("Put s3://" + bucket + "/" + key + " (" + std::to_string(put->size) +
                   " bytes, " + put_options.content_type + ")\n");
  }
  engine::ActionOutcome o;
  o.succeeded = true;
  o.summary = "Deployed " + std::to_string(files.size()) + " files (" + std::to_string(bytes) +
              " bytes) of " + artifact_name + " to s3://" + bucket + "/" + prefix +
              (kms_key.empty() ? "" : " (encrypted with KMS key " + kms_key + ")");
  return o;
}

}  // namespace stageline::providers
