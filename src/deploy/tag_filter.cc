#include "deploy/tag_filter.h"

#include <algorithm>

namespace stageline::deploy {

Result<TagFilterType> parse_tag_filter_type(const std::string& text) {
  if (text == "KEY_ONLY") return TagFilterType::kKeyOnly;
  if (text == "VALUE_ONLY") return TagFilterType::kValueOnly;
  if (text == "KEY_AND_VALUE") return TagFilterType::kKeyAndValue;
  return Status::invalid("tag filter Type must be KEY_ONLY, VALUE_ONLY or KEY_AND_VALUE, not '" +
                         text + "'");
}

const char* to_string(TagFilterType type) {
  switch (type) {
    case TagFilterType::kKeyOnly:
      return "KEY_ONLY";
    case TagFilterType::kValueOnly:
      return "VALUE_ONLY";
    case TagFilterType::kKeyAndValue:
      return "KEY_AND_VALUE";
  }
  return "KEY_AND_VALUE";
}

bool matches(const std::vector<Tag>& tags, const TagFilter& filter) {
  return std::any_of(tags.begin(), tags.end(), [&](const Tag& t) {
    switch (filter.type) {
      case TagFilterType::kKeyOnly:
        return t.key == filter.key;
      case TagFilterType::kValueOnly:
        return t.value == filter.value;
      case TagFilterType::kKeyAndValue:
        return t.key == filter.key && t.value == filter.value;
    }
    return false;
  });
}

bool matches_any(const std::vector<Tag>& tags, const std::vector<TagFilter>& filters) {
  return std::any_of(filters.begin(), filters.end(),
                     [&](const TagFilter& f) { return matches(tags, f); });
}

bool matches_tag_set(const std::vector<Tag>& tags,
                     const std::vector<std::vector<TagFilter>>& tag_set) {
  if (tag_set.empty()) return false;
  return std::all_of(tag_set.begin(), tag_set.end(),
                     [&](const std::vector<TagFilter>& group) { return matches_any(tags, group); });
}

Result<std::filesystem::path> target_directory(const std::string& instance,
                                               const std::vector<Tag>& tags) {
  for (const Tag& t : tags) {
    if (t.key != kTargetDirectoryTag) continue;
    if (t.value.empty() || t.value[0] != '/')
      return Status(StatusCode::kFailedPrecondition,
                    "instance " + instance + ": tag " + kTargetDirectoryTag +
                        " must be an absolute directory, not '" + t.value + "'");
    return std::filesystem::path(t.value);
  }
  return Status(StatusCode::kFailedPrecondition,
                "instance " + instance + " has no target directory: tag it with " +
                    kTargetDirectoryTag +
                    "=/absolute/dir (aws deploy add-tags-to-on-premises-instances)");
}

}  // namespace stageline::deploy
