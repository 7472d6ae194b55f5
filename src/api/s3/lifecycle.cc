#include "api/s3/lifecycle.h"

#include <charconv>

#include "api/s3/xml.h"

namespace stageline::api::s3 {

namespace {

using std::chrono::system_clock;

Result<std::optional<int>> days_of(const xml::Node* parent, std::string_view name,
                                   const std::string& rule) {
  if (!parent) return std::optional<int>();
  const xml::Node* n = parent->child(name);
  if (!n) return std::optional<int>();
  int days = 0;
  auto [end, ec] = std::from_chars(n->text.data(), n->text.data() + n->text.size(), days);
  if (ec != std::errc() || end != n->text.data() + n->text.size() || days < 1)
    return Status::invalid("lifecycle rule '" + rule + "': " + std::string(name) +
                           " must be a positive integer, not '" + n->text + "'");
  return std::optional<int>(days);
}

// Whole days between two times (S3 counts in days).
int64_t age_days(system_clock::time_point since, system_clock::time_point now) {
  return std::chrono::duration_cast<std::chrono::hours>(now - since).count() / 24;
}

std::string where(std::string_view bucket, const artifacts::ObjectInfo& v) {
  return "s3://" + std::string(bucket) + "/" + v.key + " (version " + v.version_id;
}

}  // namespace

Result<std::vector<LifecycleRule>> parse_lifecycle(std::string_view document) {
  auto doc = xml::parse(document);
  if (!doc.ok()) return doc.status();
  std::vector<LifecycleRule> rules;
  for (const xml::Node* r : doc->all("Rule")) {
    LifecycleRule rule;
    rule.id = r->child_text("ID");
    if (rule.id.empty()) rule.id = "rule " + std::to_string(rules.size() + 1);
    const std::string status = r->child_text("Status");
    if (status != "Enabled" && status != "Disabled")
      return Status::invalid("lifecycle rule '" + rule.id +
                             "': Status must be Enabled or Disabled");
    rule.enabled = status == "Enabled";
    rule.prefix = r->child_text("Prefix");
    std::vector<std::string> unsupported;
    if (const xml::Node* filter = r->child("Filter")) {
      if (filter->child("Prefix")) rule.prefix = filter->child_text("Prefix");
      const xml::Node* conj = filter->child("And");
      if (conj && conj->child("Prefix")) rule.prefix = conj->child_text("Prefix");
      if (filter->child("Tag") || (conj && conj->child("Tag")))
        unsupported.push_back("Tag filters");
      if (filter->child("ObjectSizeGreaterThan") || filter->child("ObjectSizeLessThan") ||
          (conj && (conj->child("ObjectSizeGreaterThan") || conj->child("ObjectSizeLessThan"))))
        unsupported.push_back("object size filters");
    }
    const xml::Node* expiration = r->child("Expiration");
    auto days = days_of(expiration, "Days", rule.id);
    if (!days.ok()) return days.status();
    rule.expiration_days = *days;
    if (expiration) {
      rule.expired_object_delete_marker =
          expiration->child_text("ExpiredObjectDeleteMarker") == "true";
      if (expiration->child("Date")) unsupported.push_back("Expiration.Date");
    }
    auto noncurrent = days_of(r->child("NoncurrentVersionExpiration"), "NoncurrentDays", rule.id);
    if (!noncurrent.ok()) return noncurrent.status();
    rule.noncurrent_days = *noncurrent;
    if (r->child("Transition") || r->child("NoncurrentVersionTransition"))
      unsupported.push_back("transitions (there is one storage class here)");
    if (r->child("AbortIncompleteMultipartUpload"))
      unsupported.push_back("AbortIncompleteMultipartUpload");
    for (size_t i = 0; i < unsupported.size(); ++i)
      rule.not_applied += (i ? ", " : "") + unsupported[i];
    rules.push_back(std::move(rule));
  }
  return rules;
}

Result<LifecycleReport> apply_lifecycle(artifacts::ObjectStore& objects, std::string_view bucket,
                                        const std::vector<LifecycleRule>& rules,
                                        system_clock::time_point now, const ProtectFn& protect,
                                        bool dry_run) {
  LifecycleReport report;
  auto versioning = objects.get_bucket_config(bucket, "versioning");
  if (!versioning.ok()) return versioning.status();
  const bool versioned = versioning->has_value() && !(*versioning)->empty();
  for (const LifecycleRule& rule : rules) {
    if (!rule.enabled) continue;
    // A rule with a filter it cannot evaluate would expire objects the user
    // meant to keep: it is skipped whole.
    if (rule.not_applied.find("filters") != std::string::npos) {
      report.notes.push_back("rule '" + rule.id + "' not applied: " + rule.not_applied +
                             " are not supported");
      continue;
    }
    if (!rule.not_applied.empty())
      report.notes.push_back("rule '" + rule.id + "': " + rule.not_applied + " not applied");
    auto keys = objects.list_keys(bucket, rule.prefix);
    if (!keys.ok()) return keys.status();
    for (const std::string& key : *keys) {
      auto versions = objects.list_object_versions(bucket, key);
      if (!versions.ok()) {
        if (versions.status().message().find("NoSuchKey") == std::string::npos)
          report.notes.push_back(versions.status().message());
        continue;
      }
      auto remove = [&](const artifacts::ObjectInfo& v, int64_t age, std::string_view what) {
        std::string line = where(bucket, v) + ", " + std::to_string(age) + " days " +
                           std::string(what) + ", rule " + rule.id + ")";
        if (protect && protect(bucket, v.key, v.version_id)) {
          report.kept.push_back("kept " + line + ": needed by a pipeline");
          return;
        }
        if (!dry_run) {
          Status s = versioned && &v == &versions->front() && !v.delete_marker
                         ? objects.put_delete_marker(bucket, v.key).status()
                         : objects.delete_object(bucket, v.key, v.version_id);
          if (!s.ok()) {
            report.notes.push_back("could not expire " + line + ": " + s.message());
            return;
          }
        }
        report.removed.push_back("expired " + line);
      };
      const artifacts::ObjectInfo& current = versions->front();
      // Noncurrent versions first: each stopped being current when the next
      // newer version was put.
      if (rule.noncurrent_days) {
        for (size_t i = 1; i < versions->size(); ++i) {
          int64_t age = age_days((*versions)[i - 1].last_modified, now);
          if (age >= *rule.noncurrent_days) remove((*versions)[i], age, "noncurrent");
        }
      }
      if (rule.expiration_days && !current.delete_marker) {
        int64_t age = age_days(current.last_modified, now);
        if (age >= *rule.expiration_days) remove(current, age, "old");
      }
      // A delete marker with nothing left behind it (looked at again: the
      // steps above may have removed what was behind it).
      if (rule.expired_object_delete_marker && !dry_run) {
        auto now_versions = objects.list_object_versions(bucket, key);
        if (now_versions.ok() && now_versions->size() == 1 && now_versions->front().delete_marker &&
            objects.delete_object(bucket, key, now_versions->front().version_id).ok())
          report.removed.push_back("removed the expired delete marker of s3://" +
                                   std::string(bucket) + "/" + key);
      }
    }
  }
  return report;
}

std::string default_artifact_lifecycle() {
  return "<LifecycleConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
         "<Rule><ID>expire-artifacts-after-30-days</ID><Filter><Prefix></Prefix></Filter>"
         "<Status>Enabled</Status><Expiration><Days>30</Days></Expiration>"
         "<NoncurrentVersionExpiration><NoncurrentDays>30</NoncurrentDays>"
         "</NoncurrentVersionExpiration></Rule></LifecycleConfiguration>";
}

}  // namespace stageline::api::s3
