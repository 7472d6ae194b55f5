#include "secrets/masker.h"

#include <algorithm>

namespace stageline::secrets {

SecretMasker::SecretMasker(std::vector<std::string> secrets) {
  for (auto& s : secrets)
    if (!s.empty()) secrets_.push_back(std::move(s));
  std::sort(secrets_.begin(), secrets_.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  secrets_.erase(std::unique(secrets_.begin(), secrets_.end()), secrets_.end());
}

std::string SecretMasker::run(std::string_view text, bool hold, std::string* rest) const {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const std::string_view tail = text.substr(i);
    bool masked = false;
    for (const std::string& s : secrets_) {
      if (hold && tail.size() < s.size() && std::string_view(s).starts_with(tail)) {
        // The rest may still become this secret (or a longer one), even if a
        // shorter secret matches here: wait for more before deciding.
        *rest = std::string(tail);
        return out;
      }
      if (tail.starts_with(s)) {
        out += kMask;
        i += s.size();
        masked = true;
        break;
      }
    }
    if (masked) continue;
    out += text[i++];
  }
  return out;
}

std::string SecretMasker::feed(std::string_view chunk) {
  if (secrets_.empty()) return std::string(chunk);
  pending_.append(chunk);
  std::string rest;
  std::string out = run(pending_, true, &rest);
  pending_ = std::move(rest);
  return out;
}

std::string SecretMasker::flush() {
  std::string out = run(pending_, false, nullptr);
  pending_.clear();
  return out;
}

std::string SecretMasker::mask(std::string_view text) const {
  if (secrets_.empty()) return std::string(text);
  return run(text, false, nullptr);
}

}  // namespace stageline::secrets
