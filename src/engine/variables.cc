#include "engine/variables.h"

namespace stageline::engine {

Result<std::string> resolve_variables(const std::string& text, const VisibleVariables& visible) {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t open = text.find("#{", pos);
    if (open == std::string::npos) {
      out.append(text, pos, std::string::npos);
      return out;
    }
    size_t close = text.find('}', open + 2);
    if (close == std::string::npos)
      return Status::invalid("variable reference at '" + text.substr(open, 40) +
                             "' has no closing '}'");
    out.append(text, pos, open - pos);
    std::string ref = text.substr(open + 2, close - open - 2);
    size_t dot = ref.find('.');
    if (dot == std::string::npos)
      return Status::invalid("variable reference #{" + ref + "} is not #{Namespace.Variable}");
    std::string ns = ref.substr(0, dot), key = ref.substr(dot + 1);
    auto n = visible.find(ns);
    if (n == visible.end())
      return Status::invalid("variable #{" + ref +
                             "} is not set: no action before this one has "
                             "namespace " +
                             ns);
    auto v = n->second.find(key);
    if (v == n->second.end()) {
      std::string have;
      for (const auto& [k, _] : n->second) have += (have.empty() ? "" : ", ") + k;
      return Status::invalid("variable #{" + ref + "} is not set: namespace " + ns +
                             " has no variable " + key +
                             " (it has: " + (have.empty() ? "none" : have) + ")");
    }
    out += v->second;
    pos = close + 1;
  }
}

}  // namespace stageline::engine
