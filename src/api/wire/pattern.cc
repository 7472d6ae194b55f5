#include "api/wire/pattern.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

namespace stageline::wire {

static_assert(sizeof(wchar_t) == 4, "patterns are matched as UTF-32 in std::wregex");

bool decode_utf8(std::string_view in, std::u32string* out) {
  out->clear();
  out->reserve(in.size());
  size_t i = 0;
  while (i < in.size()) {
    const auto b0 = static_cast<unsigned char>(in[i]);
    char32_t cp = 0;
    size_t len = 0;
    if (b0 < 0x80) {
      cp = b0;
      len = 1;
    } else if ((b0 & 0xE0) == 0xC0) {
      cp = b0 & 0x1F;
      len = 2;
    } else if ((b0 & 0xF0) == 0xE0) {
      cp = b0 & 0x0F;
      len = 3;
    } else if ((b0 & 0xF8) == 0xF0) {
      cp = b0 & 0x07;
      len = 4;
    } else {
      return false;
    }
    if (i + len > in.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(in[i + k]);
      if ((b & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3F);
    }
    static constexpr char32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    out->push_back(cp);
    i += len;
  }
  return true;
}

size_t utf8_length(std::string_view s) {
  size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

namespace {

constexpr char32_t kMaxCodePoint = 0x10FFFF;

// A set of code points as sorted, disjoint, non-adjacent closed ranges.
class CharSet {
 public:
  using Range = std::pair<char32_t, char32_t>;

  CharSet() = default;
  CharSet(std::initializer_list<Range> ranges) {
    for (const auto& r : ranges) add(r.first, r.second);
  }

  void add(char32_t lo, char32_t hi) {
    ranges_.emplace_back(lo, hi);
    normalize();
  }
  void add(const CharSet& other) {
    ranges_.insert(ranges_.end(), other.ranges_.begin(), other.ranges_.end());
    normalize();
  }
  CharSet complement() const {
    CharSet out;
    char32_t next = 0;
    for (const auto& [lo, hi] : ranges_) {
      if (lo > next) out.ranges_.emplace_back(next, lo - 1);
      next = hi + 1;
    }
    if (ranges_.empty() || ranges_.back().second < kMaxCodePoint) {
      out.ranges_.emplace_back(next, kMaxCodePoint);
    }
    return out;
  }
  CharSet intersect(const CharSet& other) const {
    CharSet out;
    size_t i = 0, j = 0;
    while (i < ranges_.size() && j < other.ranges_.size()) {
      const char32_t lo = std::max(ranges_[i].first, other.ranges_[j].first);
      const char32_t hi = std::min(ranges_[i].second, other.ranges_[j].second);
      if (lo <= hi) out.ranges_.emplace_back(lo, hi);
      if (ranges_[i].second < other.ranges_[j].second) {
        ++i;
      } else {
        ++j;
      }
    }
    return out;
  }
  CharSet shifted(int delta) const {
    CharSet out;
    for (const auto& [lo, hi] : ranges_) {
      out.ranges_.emplace_back(static_cast<char32_t>(static_cast<int>(lo) + delta),
                               static_cast<char32_t>(static_cast<int>(hi) + delta));
    }
    return out;
  }
  const std::vector<Range>& ranges() const { return ranges_; }

 private:
  void normalize() {
    std::sort(ranges_.begin(), ranges_.end());
    std::vector<Range> merged;
    for (const auto& r : ranges_) {
      if (!merged.empty() && r.first <= merged.back().second + 1) {
        merged.back().second = std::max(merged.back().second, r.second);
      } else {
        merged.push_back(r);
      }
    }
    ranges_ = std::move(merged);
  }

  std::vector<Range> ranges_;
};

// Java's predefined classes (ASCII unless UNICODE_CHARACTER_CLASS, which no
// model uses).
const CharSet kDigit{{U'0', U'9'}};
const CharSet kWord{{U'a', U'z'}, {U'A', U'Z'}, {U'_', U'_'}, {U'0', U'9'}};
const CharSet kSpace{{U' ', U' '}, {U'\t', U'\r'}};  // [ \t\n\x0B\f\r]
const CharSet kHorizontalSpace{{U' ', U' '},     {U'\t', U'\t'},   {0xA0, 0xA0},
                               {0x1680, 0x1680}, {0x180E, 0x180E}, {0x2000, 0x200A},
                               {0x202F, 0x202F}, {0x205F, 0x205F}, {0x3000, 0x3000}};
const CharSet kVerticalSpace{{U'\n', U'\r'}, {0x85, 0x85}, {0x2028, 0x2029}};
// What Java's . does not match without DOTALL.
const CharSet kLineTerminators{{U'\n', U'\n'}, {U'\r', U'\r'}, {0x85, 0x85}, {0x2028, 0x2029}};

// Unicode general categories: exact for ASCII and Latin-1, the main scripts
// beyond that (an approximation, see pattern.h).
const CharSet kLetter{
    {0x41, 0x5A},     {0x61, 0x7A},     {0xAA, 0xAA},     {0xB5, 0xB5},      {0xBA, 0xBA},
    {0xC0, 0xD6},     {0xD8, 0xF6},     {0xF8, 0x2C1},    {0x2C6, 0x2D1},    {0x2E0, 0x2E4},
    {0x2EC, 0x2EC},   {0x2EE, 0x2EE},   {0x370, 0x374},   {0x376, 0x377},    {0x37A, 0x37D},
    {0x37F, 0x37F},   {0x386, 0x386},   {0x388, 0x38A},   {0x38C, 0x38C},    {0x38E, 0x3A1},
    {0x3A3, 0x3F5},   {0x3F7, 0x481},   {0x48A, 0x52F},   {0x531, 0x556},    {0x559, 0x559},
    {0x560, 0x588},   {0x5D0, 0x5EA},   {0x5EF, 0x5F2},   {0x620, 0x64A},    {0x66E, 0x66F},
    {0x671, 0x6D3},   {0x6D5, 0x6D5},   {0x904, 0x939},   {0x93D, 0x93D},    {0x950, 0x950},
    {0x958, 0x961},   {0xE01, 0xE30},   {0xE32, 0xE33},   {0x10A0, 0x10C5},  {0x10D0, 0x10FA},
    {0x1100, 0x1248}, {0x1E00, 0x1F15}, {0x1F18, 0x1FFC}, {0x2C00, 0x2CE4},  {0x3041, 0x3096},
    {0x309D, 0x309F}, {0x30A1, 0x30FA}, {0x30FC, 0x30FF}, {0x3105, 0x312F},  {0x3131, 0x318E},
    {0x3400, 0x4DBF}, {0x4E00, 0x9FFF}, {0xA000, 0xA48C}, {0xAC00, 0xD7A3},  {0xF900, 0xFAFF},
    {0xFF21, 0xFF3A}, {0xFF41, 0xFF5A}, {0xFF66, 0xFFDC}, {0x20000, 0x2FA1F}};
const CharSet kUpper{{0x41, 0x5A},   {0xC0, 0xD6},   {0xD8, 0xDE},   {0x391, 0x3A1},
                     {0x3A3, 0x3AB}, {0x400, 0x42F}, {0x531, 0x556}, {0xFF21, 0xFF3A}};
const CharSet kLower{{0x61, 0x7A},   {0xB5, 0xB5},   {0xDF, 0xF6},   {0xF8, 0xFF},
                     {0x3AC, 0x3CE}, {0x430, 0x45F}, {0x560, 0x588}, {0xFF41, 0xFF5A}};
const CharSet kNumber{{0x30, 0x39},     {0xB2, 0xB3},     {0xB9, 0xB9},     {0xBC, 0xBE},
                      {0x660, 0x669},   {0x6F0, 0x6F9},   {0x966, 0x96F},   {0xE50, 0xE59},
                      {0x2070, 0x2070}, {0x2074, 0x2079}, {0x2080, 0x2089}, {0x2150, 0x2189},
                      {0x2460, 0x249B}, {0x24EA, 0x24FF}, {0x2776, 0x2793}, {0x3007, 0x3007},
                      {0x3021, 0x3029}, {0xFF10, 0xFF19}};
const CharSet kDecimalNumber{{0x30, 0x39},   {0x660, 0x669}, {0x6F0, 0x6F9},
                             {0x966, 0x96F}, {0xE50, 0xE59}, {0xFF10, 0xFF19}};
const CharSet kSpaceSeparator{{0x20, 0x20},     {0xA0, 0xA0},     {0x1680, 0x1680},
                              {0x2000, 0x200A}, {0x202F, 0x202F}, {0x205F, 0x205F},
                              {0x3000, 0x3000}};
const CharSet kMark{
    {0x300, 0x36F},   {0x483, 0x489},   {0x591, 0x5BD},   {0x5BF, 0x5BF},   {0x5C1, 0x5C2},
    {0x5C4, 0x5C5},   {0x5C7, 0x5C7},   {0x610, 0x61A},   {0x64B, 0x65F},   {0x670, 0x670},
    {0x6D6, 0x6DC},   {0x6DF, 0x6E4},   {0x6E7, 0x6E8},   {0x6EA, 0x6ED},   {0x900, 0x903},
    {0x93A, 0x93C},   {0x93E, 0x94F},   {0x951, 0x957},   {0x962, 0x963},   {0xE31, 0xE31},
    {0xE34, 0xE3A},   {0xE47, 0xE4E},   {0x1AB0, 0x1AFF}, {0x1DC0, 0x1DFF}, {0x20D0, 0x20FF},
    {0x302A, 0x302F}, {0x3099, 0x309A}, {0xFE00, 0xFE0F}, {0xFE20, 0xFE2F}};
const CharSet kPunctuation{{0x21, 0x23},     {0x25, 0x2A},     {0x2C, 0x2F},     {0x3A, 0x3B},
                           {0x3F, 0x40},     {0x5B, 0x5D},     {0x5F, 0x5F},     {0x7B, 0x7B},
                           {0x7D, 0x7D},     {0xA1, 0xA1},     {0xA7, 0xA7},     {0xAB, 0xAB},
                           {0xB6, 0xB7},     {0xBB, 0xBB},     {0xBF, 0xBF},     {0x2010, 0x2027},
                           {0x2030, 0x2043}, {0x2045, 0x2051}, {0x2053, 0x205E}, {0x3001, 0x3003},
                           {0x3008, 0x3011}, {0xFF01, 0xFF03}, {0xFF05, 0xFF0A}, {0xFF0C, 0xFF0F}};
const CharSet kSymbol{{0x24, 0x24},      {0x2B, 0x2B},     {0x3C, 0x3E},     {0x5E, 0x5E},
                      {0x60, 0x60},      {0x7C, 0x7C},     {0x7E, 0x7E},     {0xA2, 0xA6},
                      {0xA8, 0xA9},      {0xAC, 0xAC},     {0xAE, 0xB1},     {0xB4, 0xB4},
                      {0xB8, 0xB8},      {0xD7, 0xD7},     {0xF7, 0xF7},     {0x2C2, 0x2C5},
                      {0x20A0, 0x20C0},  {0x2100, 0x214F}, {0x2190, 0x23FF}, {0x2500, 0x27BF},
                      {0x1F300, 0x1FAFF}};
const CharSet kControl{{0x00, 0x1F}, {0x7F, 0x9F}};
const CharSet kFormat{
    {0xAD, 0xAD}, {0x200B, 0x200F}, {0x202A, 0x202E}, {0x2060, 0x2064}, {0xFEFF, 0xFEFF}};
const CharSet kSurrogate{{0xD800, 0xDFFF}};
const CharSet kPrivateUse{{0xE000, 0xF8FF}, {0xF0000, 0x10FFFF}};

CharSet join(std::initializer_list<const CharSet*> sets) {
  CharSet out;
  for (const CharSet* s : sets) out.add(*s);
  return out;
}

// \p{name}: the set, and whether it is exact.
std::optional<std::pair<CharSet, bool>> property(std::u32string_view name) {
  std::string n;
  for (char32_t c : name) {
    if (c > 0x7F) return std::nullopt;
    n.push_back(static_cast<char>(c));
  }
  if (n.starts_with("Is") && n.size() > 2) n = n.substr(2);
  // POSIX classes are ASCII-only in Java: exact.
  if (n == "Lower") return {{CharSet{{U'a', U'z'}}, true}};
  if (n == "Upper") return {{CharSet{{U'A', U'Z'}}, true}};
  if (n == "ASCII") return {{CharSet{{0, 0x7F}}, true}};
  if (n == "Alpha") return {{CharSet{{U'a', U'z'}, {U'A', U'Z'}}, true}};
  if (n == "Digit") return {{kDigit, true}};
  if (n == "Alnum") return {{CharSet{{U'a', U'z'}, {U'A', U'Z'}, {U'0', U'9'}}, true}};
  if (n == "Punct")
    return {{CharSet{{0x21, 0x2F}, {0x3A, 0x40}, {0x5B, 0x60}, {0x7B, 0x7E}}, true}};
  if (n == "Graph") return {{CharSet{{0x21, 0x7E}}, true}};
  if (n == "Print") return {{CharSet{{0x20, 0x7E}}, true}};
  if (n == "Blank") return {{CharSet{{U' ', U' '}, {U'\t', U'\t'}}, true}};
  if (n == "Cntrl") return {{CharSet{{0, 0x1F}, {0x7F, 0x7F}}, true}};
  if (n == "XDigit") return {{CharSet{{U'0', U'9'}, {U'a', U'f'}, {U'A', U'F'}}, true}};
  if (n == "Space") return {{kSpace, true}};
  if (n == "L1") return {{CharSet{{0, 0xFF}}, true}};
  if (n == "LD") {  // Java: letter or digit
    CharSet ld = kLetter;
    ld.add(kDecimalNumber);
    return {{ld, false}};
  }
  // Unicode general categories: approximate.
  if (n == "L" || n == "Letter" || n == "Alphabetic" || n == "Lm" || n == "Lo" || n == "LC" ||
      n == "L&") {
    return {{kLetter, false}};
  }
  if (n == "Lu" || n == "Lt") return {{kUpper, false}};
  if (n == "Ll") return {{kLower, false}};
  if (n == "N") return {{kNumber, false}};
  if (n == "Nd") return {{kDecimalNumber, false}};
  if (n == "Z") {
    CharSet z = kSpaceSeparator;
    z.add(0x2028, 0x2029);
    return {{z, false}};
  }
  if (n == "Zs") return {{kSpaceSeparator, false}};
  if (n == "Zl") return {{CharSet{{0x2028, 0x2028}}, true}};
  if (n == "Zp") return {{CharSet{{0x2029, 0x2029}}, true}};
  if (n == "M" || n == "Mn" || n == "Mc" || n == "Me") return {{kMark, false}};
  if (n == "P") return {{kPunctuation, false}};
  if (n == "S") return {{kSymbol, false}};
  if (n == "Cc") return {{kControl, true}};
  if (n == "Cf") return {{kFormat, false}};
  if (n == "Cs") return {{kSurrogate, true}};
  if (n == "Co") return {{kPrivateUse, true}};
  if (n == "C") return {{join({&kControl, &kFormat, &kSurrogate, &kPrivateUse}), false}};
  if (n == "Latin") {
    return {{CharSet{{U'a', U'z'},
                     {U'A', U'Z'},
                     {0xAA, 0xAA},
                     {0xBA, 0xBA},
                     {0xC0, 0xD6},
                     {0xD8, 0xF6},
                     {0xF8, 0x24F},
                     {0x1E00, 0x1EFF}},
             false}};
  }
  return std::nullopt;
}

class Translator {
 public:
  explicit Translator(std::u32string_view src) : s_(src) {}

  // The ECMAScript translation, or nullopt with error() set.
  std::optional<std::u32string> run() {
    std::u32string out;
    if (!alternation(out, /*depth=*/0)) return std::nullopt;
    if (pos_ != s_.size()) {
      fail("unbalanced ')'");
      return std::nullopt;
    }
    return out;
  }

  bool approximate() const { return !approximations_.empty(); }
  const std::string& approximations() const { return approximations_; }
  const std::string& error() const { return error_; }

 private:
  bool at_end() const { return pos_ >= s_.size(); }
  char32_t peek(size_t ahead = 0) const {
    return pos_ + ahead < s_.size() ? s_[pos_ + ahead] : char32_t{0};
  }
  bool fail(std::string why) {
    if (error_.empty()) error_ = std::move(why);
    return false;
  }
  void approximate(std::string_view what) {
    if (approximations_.find(what) != std::string::npos) return;
    if (!approximations_.empty()) approximations_ += "; ";
    approximations_ += what;
  }

  static bool is_special(char32_t c) {
    return std::u32string_view(U"^$\\.*+?()[]{}|").find(c) != std::u32string_view::npos;
  }
  void literal(char32_t c, std::u32string& out) const {
    if (icase_ && ((c >= U'a' && c <= U'z') || (c >= U'A' && c <= U'Z'))) {
      out.push_back(U'[');
      out.push_back(c | 0x20);
      out.push_back(c & ~char32_t{0x20});
      out.push_back(U']');
      return;
    }
    if (is_special(c)) out.push_back(U'\\');
    out.push_back(c);
  }
  // Case-insensitive matching of a class (ASCII, as Java without UNICODE_CASE).
  CharSet fold(const CharSet& set) const {
    if (!icase_) return set;
    CharSet out = set;
    out.add(set.intersect(CharSet{{U'a', U'z'}}).shifted(-32));
    out.add(set.intersect(CharSet{{U'A', U'Z'}}).shifted(32));
    return out;
  }
  static void class_literal(char32_t c, std::u32string& out) {
    if (c == U'\\' || c == U']' || c == U'[' || c == U'^' || c == U'-') out.push_back(U'\\');
    out.push_back(c);
  }
  static void emit_set(const CharSet& set, std::u32string& out) {
    if (set.ranges().empty()) {
      out += U"[^";
      class_literal(0, out);
      out.push_back(U'-');
      class_literal(kMaxCodePoint, out);
      out.push_back(U']');
      return;
    }
    const CharSet inverse = set.complement();
    const bool negate = inverse.ranges().size() < set.ranges().size();
    out += negate ? U"[^" : U"[";
    for (const auto& [lo, hi] : (negate ? inverse : set).ranges()) {
      class_literal(lo, out);
      if (hi != lo) {
        if (hi != lo + 1) out.push_back(U'-');
        class_literal(hi, out);
      }
    }
    out.push_back(U']');
  }

  // alternation := sequence ('|' sequence)*
  bool alternation(std::u32string& out, int depth) {
    if (depth > 50) return fail("groups nested too deeply");
    while (true) {
      if (!sequence(out, depth)) return false;
      if (peek() != U'|') return true;
      out.push_back(U'|');
      ++pos_;
    }
  }

  bool sequence(std::u32string& out, int depth) {
    while (!at_end() && peek() != U'|' && peek() != U')') {
      bool quantifiable = true;
      if (!atom(out, depth, &quantifiable)) return false;
      if (quantifiable && !quantifier(out)) return false;
    }
    return true;
  }

  bool quantifier(std::u32string& out) {
    const char32_t c = peek();
    if (c == U'*' || c == U'+' || c == U'?') {
      out.push_back(c);
      ++pos_;
    } else if (c == U'{') {
      size_t p = pos_ + 1;
      auto digits = [&] {
        const size_t start = p;
        while (p < s_.size() && s_[p] >= U'0' && s_[p] <= U'9') ++p;
        return p > start;
      };
      if (!digits()) return true;  // a literal '{', handled as the next atom
      if (p < s_.size() && s_[p] == U',') {
        ++p;
        digits();
      }
      if (p >= s_.size() || s_[p] != U'}') return true;
      const std::u32string_view counted = s_.substr(pos_, p + 1 - pos_);
      pos_ = p + 1;
      // libstdc++ copies the operand once per count and refuses more than
      // 100000 NFA states: large bounds are relaxed (the model's length
      // constraint enforces them anyway).
      size_t lo = 0, hi = 0;
      bool has_hi = false, comma = false;
      for (char32_t d : counted.substr(1, counted.size() - 2)) {
        if (d == U',') {
          comma = true;
        } else {
          size_t& v = comma ? hi : lo;
          v = std::min<size_t>(v * 10 + (d - U'0'), 1000000);
          if (comma) has_hi = true;
        }
      }
      if (!comma) {
        hi = lo;
        has_hi = true;
      }
      if (lo > 1000 || (has_hi && hi > 1000)) {
        approximate("repetition count over 1000 relaxed");
        const std::string relaxed = "{" + std::to_string(std::min<size_t>(lo, 1000)) + ",}";
        out.append(relaxed.begin(), relaxed.end());
      } else {
        out.append(counted);
      }
    } else {
      return true;
    }
    if (peek() == U'?') {
      out.push_back(U'?');
      ++pos_;
    } else if (peek() == U'+') {
      approximate("possessive quantifier matched greedily");
      ++pos_;
    }
    if (peek() == U'*' || peek() == U'+' || peek() == U'?') return fail("repeated quantifier");
    return true;
  }

  bool atom(std::u32string& out, int depth, bool* quantifiable) {
    const char32_t c = peek();
    switch (c) {
      case U'(':
        return group(out, depth, quantifiable);
      case U'[': {
        ++pos_;
        CharSet set;
        if (!class_body(&set, /*depth=*/0)) return false;
        emit_set(set, out);
        return true;
      }
      case U'.':
        ++pos_;
        emit_set(dotall_ ? CharSet{{0, kMaxCodePoint}} : kLineTerminators.complement(), out);
        return true;
      case U'^':
      case U'$':
        ++pos_;
        out.push_back(c);
        *quantifiable = false;
        return true;
      case U'\\':
        return escape_outside_class(out, quantifiable);
      case U'*':
      case U'+':
      case U'?':
        return fail("quantifier without an operand");
      case U'{':
      case U'}':
      case U']':
        ++pos_;
        literal(c, out);
        return true;
      default:
        ++pos_;
        literal(c, out);
        return true;
    }
  }

  // Skips a group whose '(' is at pos_, for a dropped lookbehind.
  bool skip_group() {
    int level = 0;
    bool in_class = false;
    while (!at_end()) {
      const char32_t c = s_[pos_++];
      if (c == U'\\') {
        ++pos_;
      } else if (in_class) {
        if (c == U']') in_class = false;
      } else if (c == U'[') {
        in_class = true;
      } else if (c == U'(') {
        ++level;
      } else if (c == U')') {
        if (--level == 0) return true;
      }
    }
    return fail("unclosed group");
  }

  bool group(std::u32string& out, int depth, bool* quantifiable) {
    const size_t start = pos_;
    ++pos_;
    std::u32string_view open = U"(";
    if (peek() == U'?') {
      const char32_t k = peek(1);
      if (k == U':' || k == U'=' || k == U'!') {
        open = k == U':' ? U"(?:" : (k == U'=' ? U"(?=" : U"(?!");
        pos_ += 2;
      } else if (k == U'>') {
        approximate("atomic group matched as a plain group");
        open = U"(?:";
        pos_ += 2;
      } else if (k == U'<' && (peek(2) == U'=' || peek(2) == U'!')) {
        // std::regex has no lookbehind: dropping it accepts more.
        approximate("lookbehind ignored");
        pos_ = start;
        if (!skip_group()) return false;
        *quantifiable = false;
        return true;
      } else if (k == U'<') {
        const size_t close = s_.find(U'>', pos_ + 2);
        if (close == std::u32string_view::npos) return fail("unclosed group name");
        pos_ = close + 1;
      } else {
        // Inline flags: (?is-u) for the rest of the enclosing group, or
        // (?i:...) for a group of their own.
        ++pos_;
        bool on = true;
        while (!at_end() && peek() != U')' && peek() != U':') {
          const char32_t f = peek();
          if (f == U'-') {
            on = false;
          } else if (f == U'i') {
            icase_ = on;
          } else if (f == U's') {
            dotall_ = on;
          } else if (f == U'u' || f == U'U' || f == U'd') {
            approximate("inline flag ignored");
          } else {
            return fail("unsupported inline flag '" + std::string(1, static_cast<char>(f)) + "'");
          }
          ++pos_;
        }
        if (at_end()) return fail("unclosed group");
        if (peek() == U')') {
          ++pos_;
          *quantifiable = false;
          return true;  // the caller's group restores the flags at its end
        }
        ++pos_;
        open = U"(?:";
      }
    }
    const bool saved_icase = icase_, saved_dotall = dotall_;
    out += open;
    if (!alternation(out, depth + 1)) return false;
    if (peek() != U')') return fail("unclosed group");
    ++pos_;
    out.push_back(U')');
    icase_ = saved_icase;
    dotall_ = saved_dotall;
    if (open == U"(?=" || open == U"(?!") *quantifiable = false;
    return true;
  }

  // A code point escape shared by both contexts (\t, \x41, \u0041, \0101,
  // \cA, or an escaped non-letter). Returns nullopt when `c` is not one.
  std::optional<char32_t> char_escape() {
    const char32_t c = peek();
    auto hex = [&](size_t digits) -> std::optional<char32_t> {
      char32_t v = 0;
      for (size_t k = 0; k < digits; ++k) {
        const char32_t h = peek(1 + k);
        int d = -1;
        if (h >= U'0' && h <= U'9') d = static_cast<int>(h - U'0');
        if (h >= U'a' && h <= U'f') d = static_cast<int>(h - U'a' + 10);
        if (h >= U'A' && h <= U'F') d = static_cast<int>(h - U'A' + 10);
        if (d < 0) return std::nullopt;
        v = v * 16 + static_cast<char32_t>(d);
      }
      pos_ += 1 + digits;
      return v;
    };
    switch (c) {
      case U't':
        ++pos_;
        return U'\t';
      case U'n':
        ++pos_;
        return U'\n';
      case U'r':
        ++pos_;
        return U'\r';
      case U'f':
        ++pos_;
        return U'\f';
      case U'a':
        ++pos_;
        return U'\a';
      case U'e':
        ++pos_;
        return char32_t{0x1B};
      case U'x':
        if (peek(1) == U'{') {
          const size_t close = s_.find(U'}', pos_);
          if (close == std::u32string_view::npos || close - pos_ > 8) return std::nullopt;
          char32_t v = 0;
          for (size_t p = pos_ + 2; p < close; ++p) {
            const char32_t h = s_[p];
            const bool ok =
                (h >= U'0' && h <= U'9') || (h >= U'a' && h <= U'f') || (h >= U'A' && h <= U'F');
            if (!ok) return std::nullopt;
            v = v * 16 + (h <= U'9' ? h - U'0' : (h | 0x20) - U'a' + 10);
          }
          if (v > kMaxCodePoint) return std::nullopt;
          pos_ = close + 1;
          return v;
        }
        return hex(2);
      case U'u': {
        auto v = hex(4);
        // Java reads an escaped surrogate pair as one code point.
        if (v && *v >= 0xD800 && *v <= 0xDBFF && peek() == U'\\' && peek(1) == U'u') {
          const size_t save = pos_;
          ++pos_;
          auto low = hex(4);
          if (low && *low >= 0xDC00 && *low <= 0xDFFF) {
            return 0x10000 + ((*v - 0xD800) << 10) + (*low - 0xDC00);
          }
          pos_ = save;
        }
        return v;
      }
      case U'0': {
        ++pos_;
        char32_t v = 0;
        for (int k = 0; k < 3 && peek() >= U'0' && peek() <= U'7'; ++k) {
          const char32_t next = v * 8 + (peek() - U'0');
          if (next > 0377) break;
          v = next;
          ++pos_;
        }
        return v;
      }
      case U'c':
        if (pos_ + 1 >= s_.size()) return std::nullopt;
        pos_ += 2;
        return s_[pos_ - 1] ^ 64;
      default:
        // Java: a backslash before a non-letter, non-digit is that character.
        if (!((c >= U'a' && c <= U'z') || (c >= U'A' && c <= U'Z') || (c >= U'0' && c <= U'9'))) {
          ++pos_;
          return c;
        }
        return std::nullopt;
    }
  }

  // A class escape (\d \w \s \h \v \p{..} and negations). Returns nullopt
  // when `c` is not one; sets error_ on a bad \p.
  std::optional<CharSet> class_escape() {
    const char32_t c = peek();
    switch (c) {
      case U'd':
        ++pos_;
        return kDigit;
      case U'D':
        ++pos_;
        return kDigit.complement();
      case U'w':
        ++pos_;
        return kWord;
      case U'W':
        ++pos_;
        return kWord.complement();
      case U's':
        ++pos_;
        return kSpace;
      case U'S':
        ++pos_;
        return kSpace.complement();
      case U'h':
        ++pos_;
        return kHorizontalSpace;
      case U'H':
        ++pos_;
        return kHorizontalSpace.complement();
      case U'v':
        ++pos_;
        return kVerticalSpace;
      case U'V':
        ++pos_;
        return kVerticalSpace.complement();
      case U'p':
      case U'P': {
        std::u32string_view name;
        size_t next = 0;
        if (peek(1) == U'{') {
          const size_t close = s_.find(U'}', pos_);
          if (close == std::u32string_view::npos) {
            fail("unclosed \\p{");
            return std::nullopt;
          }
          name = s_.substr(pos_ + 2, close - pos_ - 2);
          next = close + 1;
        } else if (pos_ + 1 < s_.size()) {
          name = s_.substr(pos_ + 1, 1);
          next = pos_ + 2;
        }
        auto prop = property(name);
        if (!prop) {
          fail("unsupported property \\p{" + std::string(name.begin(), name.end()) + "}");
          return std::nullopt;
        }
        if (!prop->second) approximate("Unicode category approximated");
        pos_ = next;
        return c == U'p' ? prop->first : prop->first.complement();
      }
      default:
        return std::nullopt;
    }
  }

  bool escape_outside_class(std::u32string& out, bool* quantifiable) {
    ++pos_;  // the backslash
    if (at_end()) return fail("trailing backslash");
    const char32_t c = peek();
    if (c == U'b' || c == U'B') {
      out.push_back(U'\\');
      out.push_back(c);
      ++pos_;
      *quantifiable = false;
      return true;
    }
    if (c == U'A') {
      out.push_back(U'^');
      ++pos_;
      *quantifiable = false;
      return true;
    }
    if (c == U'z' || c == U'Z') {
      if (c == U'Z') approximate("\\Z treated as \\z");
      out.push_back(U'$');
      ++pos_;
      *quantifiable = false;
      return true;
    }
    if (c == U'Q') {
      const size_t end = s_.find(U"\\E", pos_ + 1);
      const size_t stop = end == std::u32string_view::npos ? s_.size() : end;
      out += U"(?:";
      for (size_t p = pos_ + 1; p < stop; ++p) literal(s_[p], out);
      out.push_back(U')');
      pos_ = end == std::u32string_view::npos ? s_.size() : end + 2;
      return true;
    }
    if (c >= U'1' && c <= U'9') {
      out.push_back(U'\\');
      out.push_back(c);
      ++pos_;
      has_backreference_ = true;
      return true;
    }
    if (auto set = class_escape()) {
      emit_set(*set, out);
      return true;
    }
    if (!error_.empty()) return false;
    if (auto cp = char_escape()) {
      literal(*cp, out);
      return true;
    }
    return fail("unsupported escape '\\" + std::string(1, static_cast<char>(c)) + "'");
  }

  // One element of a class: a single code point or a set.
  bool class_atom(std::optional<char32_t>* single, CharSet* set) {
    const char32_t c = peek();
    if (c == U'\\') {
      ++pos_;
      if (at_end()) return fail("trailing backslash");
      if (peek() == U'Q') {
        const size_t end = s_.find(U"\\E", pos_ + 1);
        const size_t stop = end == std::u32string_view::npos ? s_.size() : end;
        for (size_t p = pos_ + 1; p < stop; ++p) set->add(s_[p], s_[p]);
        pos_ = end == std::u32string_view::npos ? s_.size() : end + 2;
        return true;
      }
      if (auto s = class_escape()) {
        *set = std::move(*s);
        return true;
      }
      if (!error_.empty()) return false;
      if (auto cp = char_escape()) {
        *single = *cp;
        return true;
      }
      return fail("unsupported escape in class '\\" + std::string(1, static_cast<char>(peek())) +
                  "'");
    }
    ++pos_;
    *single = c;
    return true;
  }

  // After '[': the class up to and including its ']'.
  bool class_body(CharSet* result, int depth) {
    if (depth > 20) return fail("classes nested too deeply");
    bool negate = false;
    if (peek() == U'^') {
      negate = true;
      ++pos_;
    }
    CharSet acc;
    bool first = true;
    while (true) {
      if (at_end()) return fail("unclosed character class");
      const char32_t c = peek();
      if (c == U']' && !first) {
        ++pos_;
        break;
      }
      first = false;
      if (c == U'[') {
        ++pos_;
        CharSet nested;
        if (!class_body(&nested, depth + 1)) return false;
        acc.add(nested);
        continue;
      }
      if (c == U'&' && peek(1) == U'&') {
        pos_ += 2;
        // The right operand runs to this class's ']', which it leaves.
        CharSet rhs;
        if (!class_operand(&rhs, depth)) return false;
        acc = acc.intersect(rhs);
        continue;
      }
      std::optional<char32_t> lo;
      CharSet set;
      if (!class_atom(&lo, &set)) return false;
      if (!lo) {
        acc.add(set);
        continue;
      }
      if (peek() == U'-' && peek(1) != U']' && peek(1) != U'[' && pos_ + 1 < s_.size()) {
        ++pos_;
        std::optional<char32_t> hi;
        CharSet hi_set;
        if (!class_atom(&hi, &hi_set)) return false;
        if (!hi) return fail("range ends in a class escape");
        if (*hi < *lo) return fail("range out of order");
        acc.add(*lo, *hi);
      } else {
        acc.add(*lo, *lo);
      }
    }
    acc = fold(acc);
    *result = negate ? acc.complement() : acc;
    return true;
  }

  // The operand right of '&&': elements up to (not including) the ']'.
  bool class_operand(CharSet* result, int depth) {
    CharSet acc;
    while (true) {
      if (at_end()) return fail("unclosed character class");
      const char32_t c = peek();
      if (c == U']') break;
      if (c == U'[') {
        ++pos_;
        CharSet nested;
        if (!class_body(&nested, depth + 1)) return false;
        acc.add(nested);
        continue;
      }
      if (c == U'&' && peek(1) == U'&') {
        pos_ += 2;
        CharSet rhs;
        if (!class_operand(&rhs, depth)) return false;
        acc = acc.intersect(rhs);
        continue;
      }
      std::optional<char32_t> lo;
      CharSet set;
      if (!class_atom(&lo, &set)) return false;
      if (!lo) {
        acc.add(set);
      } else if (peek() == U'-' && peek(1) != U']' && peek(1) != U'[') {
        ++pos_;
        std::optional<char32_t> hi;
        CharSet hi_set;
        if (!class_atom(&hi, &hi_set)) return false;
        if (!hi || *hi < *lo) return fail("bad range");
        acc.add(*lo, *hi);
      } else {
        acc.add(*lo, *lo);
      }
    }
    *result = acc;
    return true;
  }

 public:
  bool has_backreference() const { return has_backreference_; }

 private:
  std::u32string_view s_;
  size_t pos_ = 0;
  bool icase_ = false;
  bool dotall_ = false;
  bool has_backreference_ = false;
  std::string approximations_;
  std::string error_;
};

std::string to_utf8(std::u32string_view s) {
  std::string out;
  for (char32_t c : s) {
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (c >> 12)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (c >> 18)));
      out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

}  // namespace

Pattern Pattern::compile(std::string_view java_pattern) {
  Pattern p;
  p.source_ = std::string(java_pattern);
  std::u32string src;
  if (!decode_utf8(java_pattern, &src)) {
    p.note_ = "pattern is not valid UTF-8";
    return p;
  }
  Translator t(src);
  std::optional<std::u32string> ecma = t.run();
  if (!ecma) {
    p.note_ = t.error();
    return p;
  }
  p.ecmascript_.assign(ecma->begin(), ecma->end());
  auto flags = std::regex::ECMAScript | std::regex::optimize;
  // libstdc++'s breadth-first executor (the __polynomial extension) walks
  // the input iteratively: no recursion per character, so no stack
  // exhaustion on long values, and no exponential backtracking on hostile
  // input. It cannot do back references, which no embedded model uses.
  if (!t.has_backreference()) flags |= std::regex_constants::__polynomial;
  try {
    p.regex_ = std::make_shared<const std::wregex>(p.ecmascript_, flags);
  } catch (const std::exception& e) {
    // A library exception must not escape: the pattern stays unenforced.
    p.note_ = std::string("std::regex refused the translation: ") + e.what();
    p.regex_.reset();
    return p;
  }
  p.fidelity_ = t.approximate() ? PatternFidelity::kApproximate : PatternFidelity::kExact;
  p.note_ = t.approximations();
  return p;
}

std::string Pattern::translation() const {
  return to_utf8(std::u32string(ecmascript_.begin(), ecmascript_.end()));
}

bool Pattern::matches(std::string_view value) const {
  if (!regex_) return true;
  std::u32string decoded;
  if (!decode_utf8(value, &decoded)) return false;
  if (decoded.size() > kMaxMatchLength) return true;
  const std::wstring wide(decoded.begin(), decoded.end());
  try {
    return std::regex_match(wide, *regex_);
  } catch (const std::exception&) {
    return true;  // regex_error (complexity/stack): unenforced for this value
  }
}

}  // namespace stageline::wire
