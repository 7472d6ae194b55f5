// deploy/tag_filter: which on-premises instances a deployment group targets
// (CodeDeploy's onPremisesInstanceTagFilters and onPremisesTagSet), and the
// instance tag that names an instance's target directory on this host.
// Pure; thread-safe.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "base/status.h"

namespace stageline::deploy {

// The tag whose value is the absolute directory an instance's files are
// deployed under (docs/codedeploy.md). Set it with
// `aws deploy add-tags-to-on-premises-instances` or at registration with
// `stageline deploy register-instance`.
inline constexpr const char* kTargetDirectoryTag = "stageline:target-directory";

struct Tag {
  std::string key;
  std::string value;
};

enum class TagFilterType { kKeyOnly, kValueOnly, kKeyAndValue };

struct TagFilter {
  std::string key;
  std::string value;
  TagFilterType type = TagFilterType::kKeyAndValue;
};

// KEY_ONLY, VALUE_ONLY, KEY_AND_VALUE; kInvalidArgument otherwise.
Result<TagFilterType> parse_tag_filter_type(const std::string& text);
const char* to_string(TagFilterType type);

// Whether one of `tags` satisfies `filter`: KEY_ONLY compares keys,
// VALUE_ONLY values, KEY_AND_VALUE both (all case-sensitive, as CodeDeploy).
bool matches(const std::vector<Tag>& tags, const TagFilter& filter);

// onPremisesInstanceTagFilters: an instance is targeted when any filter
// matches. An empty list targets nothing.
bool matches_any(const std::vector<Tag>& tags, const std::vector<TagFilter>& filters);

// onPremisesTagSet: targeted when every group has a matching filter (AND of
// ORs). An empty set targets nothing.
bool matches_tag_set(const std::vector<Tag>& tags,
                     const std::vector<std::vector<TagFilter>>& tag_set);

// The instance's target directory (the value of kTargetDirectoryTag).
// kFailedPrecondition naming `instance` when the tag is missing or not an
// absolute path.
Result<std::filesystem::path> target_directory(const std::string& instance,
                                               const std::vector<Tag>& tags);

}  // namespace stageline::deploy
