// secrets/masker: replaces secret values by "***" in a stream of output
// (docs/secrets.md, "Masking").
//
// Output arrives in chunks that split anywhere, so a value may straddle two
// writes. The masker holds back the end of what it was given as long as that
// end could still become a secret (at most the longest secret's length minus
// one bytes) and releases it once the next chunk decides, or at flush().
// Longer secrets are tried first, so a secret that contains another is
// masked whole. Not thread-safe: one masker per stream.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace stageline::secrets {

inline constexpr std::string_view kMask = "***";

class SecretMasker {
 public:
  // Empty values are ignored (they would match everywhere).
  explicit SecretMasker(std::vector<std::string> secrets);

  // Appends `chunk` and returns what is safe to show now, masked.
  std::string feed(std::string_view chunk);
  // Returns what is held back, masked (the stream ended or paused).
  std::string flush();
  // `text` masked, for a complete piece (a log line the runner composes).
  std::string mask(std::string_view text) const;

  bool empty() const { return secrets_.empty(); }
  size_t held() const { return pending_.size(); }

 private:
  // Masks `text`; when `hold` is set, stops at the first position from which
  // the rest is a proper prefix of a secret and leaves it in `*rest`.
  std::string run(std::string_view text, bool hold, std::string* rest) const;

  std::vector<std::string> secrets_;  // longest first
  std::string pending_;
};

}  // namespace stageline::secrets
