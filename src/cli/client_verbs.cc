#include "cli/client_verbs.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <fstream>
#include <random>
#include <sstream>

#include "api/wire/embedded.h"
#include "base/strings.h"
#include "cli/aws_json.h"

namespace stageline::cli {
namespace {

namespace json = boost::json;
using api::client::ServiceError;

using P = ParamSpec;
constexpr ParamKind kStr = ParamKind::kString;
constexpr ParamKind kInt = ParamKind::kInteger;
constexpr ParamKind kBool = ParamKind::kBoolean;
constexpr ParamKind kStruct = ParamKind::kStructure;
constexpr ParamKind kList = ParamKind::kList;

std::vector<VerbSpec> make_verbs() {
  auto verb = [](std::string_view name, std::string_view op, std::string_view summary,
                 std::vector<ParamSpec> params, std::optional<Pagination> pagination = std::nullopt,
                 bool idempotency_token = false) {
    return VerbSpec{.name = name,
                    .operation = op,
                    .summary = summary,
                    .params = std::move(params),
                    .pagination = pagination,
                    .idempotency_token = idempotency_token};
  };
  return {
      verb("create-pipeline", "CreatePipeline",
           "create a pipeline (--pipeline file://pipeline.json)",
           {P{"pipeline", "pipeline", kStruct, true}, P{"tags", "tags", kList, false}}),
      verb("update-pipeline", "UpdatePipeline", "replace a pipeline's declaration (a new version)",
           {P{"pipeline", "pipeline", kStruct, true}}),
      verb("delete-pipeline", "DeletePipeline", "delete a pipeline",
           {P{"name", "name", kStr, true}}),
      verb("get-pipeline", "GetPipeline", "print a pipeline's declaration and metadata",
           {P{"name", "name", kStr, true}, P{"pipeline-version", "version", kInt, false}}),
      verb("list-pipelines", "ListPipelines", "list the pipelines", {},
           Pagination{.result_key = "pipelines"}),
      verb("start-pipeline-execution", "StartPipelineExecution", "start a pipeline execution",
           {P{"name", "name", kStr, true}, P{"variables", "variables", kList, false},
            P{"client-request-token", "clientRequestToken", kStr, false},
            P{"source-revisions", "sourceRevisions", kList, false}},
           std::nullopt, true),
      verb("stop-pipeline-execution", "StopPipelineExecution",
           "stop an execution (wait for its actions, or --abandon them)",
           {P{"pipeline-name", "pipelineName", kStr, true},
            P{"pipeline-execution-id", "pipelineExecutionId", kStr, true},
            P{"abandon", "abandon", kBool, false}, P{"reason", "reason", kStr, false}}),
      verb(
          "retry-stage-execution", "RetryStageExecution",
          "retry a failed stage (--retry-mode FAILED_ACTIONS or ALL_ACTIONS)",
          {P{"pipeline-name", "pipelineName", kStr, true}, P{"stage-name", "stageName", kStr, true},
           P{"pipeline-execution-id", "pipelineExecutionId", kStr, true},
           P{"retry-mode", "retryMode", kStr, true}}),
      verb("get-pipeline-state", "GetPipelineState",
           "print the state of every stage and action of a pipeline",
           {P{"name", "name", kStr, true}}),
      verb("get-pipeline-execution", "GetPipelineExecution", "print one pipeline execution",
           {P{"pipeline-name", "pipelineName", kStr, true},
            P{"pipeline-execution-id", "pipelineExecutionId", kStr, true}}),
      verb("list-pipeline-executions", "ListPipelineExecutions",
           "list a pipeline's executions, newest first",
           {P{"pipeline-name", "pipelineName", kStr, true}, P{"filter", "filter", kStruct, false}},
           Pagination{.result_key = "pipelineExecutionSummaries"}),
      verb("list-action-executions", "ListActionExecutions",
           "list action executions (--filter pipelineExecutionId=ID)",
           {P{"pipeline-name", "pipelineName", kStr, true}, P{"filter", "filter", kStruct, false}},
           Pagination{.result_key = "actionExecutionDetails"}),
      verb(
          "disable-stage-transition", "DisableStageTransition",
          "stop executions from entering (Inbound) or leaving (Outbound) a stage",
          {P{"pipeline-name", "pipelineName", kStr, true}, P{"stage-name", "stageName", kStr, true},
           P{"transition-type", "transitionType", kStr, true}, P{"reason", "reason", kStr, true}}),
      verb(
          "enable-stage-transition", "EnableStageTransition", "enable a stage transition again",
          {P{"pipeline-name", "pipelineName", kStr, true}, P{"stage-name", "stageName", kStr, true},
           P{"transition-type", "transitionType", kStr, true}}),
      verb("put-approval-result", "PutApprovalResult",
           "approve or reject a manual approval (--result summary=..,status=Approved)",
           {P{"pipeline-name", "pipelineName", kStr, true},
            P{"stage-name", "stageName", kStr, true}, P{"action-name", "actionName", kStr, true},
            P{"result", "result", kStruct, true}, P{"token", "token", kStr, true}}),
  };
}

Status usage_error(std::string message) { return Status::invalid(std::move(message)); }

// file://PATH reads the file's text, as the aws CLI's paramfile handling does.
Result<std::string> load_value(std::string_view flag, std::string_view value) {
  if (!starts_with(value, "file://") && !starts_with(value, "fileb://")) return std::string(value);
  std::string path(value.substr(value.find("://") + 3));
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return usage_error("Error parsing parameter '--" + std::string(flag) +
                       "': Unable to load paramfile " + std::string(value) + ": cannot open " +
                       quote(path));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Shorthand syntax: a small recursive-descent reader over `text`.
class Shorthand {
 public:
  explicit Shorthand(std::string_view text) : s_(text) {}

  Result<json::value> parse() {
    auto v = parse_pairs(/*nested=*/false);
    if (!v.ok()) return v;
    skip_spaces();
    if (i_ != s_.size()) return error("unexpected " + quote(s_.substr(i_, 1)));
    return v;
  }

 private:
  Status error(const std::string& what) const {
    return Status::invalid("shorthand syntax at character " + std::to_string(i_ + 1) + " of " +
                           quote(s_) + ": " + what);
  }
  void skip_spaces() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n')) ++i_;
  }
  bool at(char c) const { return i_ < s_.size() && s_[i_] == c; }

  Result<json::value> parse_pairs(bool nested) {
    json::object o;
    for (;;) {
      skip_spaces();
      if (nested && at('}')) break;
      size_t start = i_;
      while (i_ < s_.size() && s_[i_] != '=' && s_[i_] != ',' && s_[i_] != '}') ++i_;
      std::string key(s_.substr(start, i_ - start));
      while (!key.empty() && key.back() == ' ') key.pop_back();
      if (key.empty()) return error("expected key=value");
      if (!at('=')) return error("expected '=' after " + quote(key));
      ++i_;
      auto value = parse_value(nested ? "}," : ",");
      if (!value.ok()) return value;
      o[key] = std::move(*value);
      skip_spaces();
      if (!at(',')) break;
      ++i_;
    }
    return json::value(std::move(o));
  }

  // A value up to one of `stops` at this level: {..}, [..], a quoted string,
  // or plain text.
  Result<json::value> parse_value(std::string_view stops) {
    skip_spaces();
    if (at('{')) {
      ++i_;
      auto v = parse_pairs(/*nested=*/true);
      if (!v.ok()) return v;
      if (!at('}')) return error("expected '}'");
      ++i_;
      return v;
    }
    if (at('[')) {
      ++i_;
      json::array a;
      skip_spaces();
      while (!at(']')) {
        auto item = parse_value(",]");
        if (!item.ok()) return item;
        a.push_back(std::move(*item));
        skip_spaces();
        if (at(',')) {
          ++i_;
          continue;
        }
        if (!at(']')) return error("expected ',' or ']'");
      }
      ++i_;
      return json::value(std::move(a));
    }
    if (at('\'') || at('"')) {
      char quote_char = s_[i_++];
      std::string v;
      while (i_ < s_.size() && s_[i_] != quote_char) {
        if (s_[i_] == '\\' && i_ + 1 < s_.size()) ++i_;
        v += s_[i_++];
      }
      if (!at(quote_char)) return error("unterminated quoted string");
      ++i_;
      return json::value(json::string(v));
    }
    size_t start = i_;
    while (i_ < s_.size() && stops.find(s_[i_]) == std::string_view::npos && s_[i_] != ']' &&
           s_[i_] != '}')
      ++i_;
    std::string v(s_.substr(start, i_ - start));
    while (!v.empty() && v.back() == ' ') v.pop_back();
    return json::value(json::string(v));
  }

  std::string_view s_;
  size_t i_ = 0;
};

Result<json::value> parse_json_text(std::string_view flag, std::string_view text) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec)
    return usage_error("Error parsing parameter '--" + std::string(flag) + "': Invalid JSON: " +
                       ec.message() + "\nJSON received: " + std::string(text));
  return v;
}

Result<int64_t> parse_int(std::string_view flag, std::string_view text) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size())
    return usage_error("argument --" + std::string(flag) + ": invalid int value: " + quote(text));
  return v;
}

bool is_flag(std::string_view word) { return starts_with(word, "--") && word.size() > 2; }

// Base64 (standard alphabet, padded), for botocore's pagination tokens.
constexpr std::string_view kBase64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(std::string_view in) {
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                 (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += kBase64[(v >> 6) & 63];
    out += kBase64[v & 63];
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += i + 1 < in.size() ? kBase64[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view in) {
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  size_t pad = 0;
  for (char c : in) {
    if (c == '=') {
      ++pad;
      continue;
    }
    if (pad) return std::nullopt;
    size_t k = kBase64.find(c);
    if (k == std::string_view::npos) return std::nullopt;
    buffer = (buffer << 6) | static_cast<unsigned>(k);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  if (pad > 2 || (in.size() % 4) != 0) return std::nullopt;
  return out;
}

constexpr std::string_view kToken = "nextToken";
constexpr std::string_view kTruncate = "boto_truncate_amount";

// A --starting-token: {"nextToken": "..." or null, "boto_truncate_amount": n?}.
struct StartingToken {
  json::value next_token;  // string or null
  int64_t truncate = 0;
};

Result<StartingToken> decode_starting_token(std::string_view token) {
  auto bad = [&] {
    return usage_error("Bad starting token: " + quote(token) +
                       " (use the NextToken of an earlier output)");
  };
  auto text = base64_decode(token);
  if (!text) return bad();
  json::error_code ec;
  json::value v = json::parse(*text, ec);
  if (ec || !v.is_object()) return bad();
  StartingToken t;
  const json::object& o = v.as_object();
  if (auto* n = o.if_contains(kToken)) {
    if (!n->is_string() && !n->is_null()) return bad();
    t.next_token = *n;
  }
  if (auto* n = o.if_contains(kTruncate)) {
    if (!n->is_int64() || n->get_int64() < 0) return bad();
    t.truncate = n->get_int64();
  }
  return t;
}

}  // namespace

const std::vector<VerbSpec>& client_verbs() {
  static const std::vector<VerbSpec> kVerbs = make_verbs();
  return kVerbs;
}

const VerbSpec* find_verb(std::string_view name) {
  for (const auto& v : client_verbs())
    if (v.name == name) return &v;
  return nullptr;
}

bool take_connection_flag(std::string_view flag, const std::string& value,
                          api::client::LocateOptions& where) {
  if (flag == "--endpoint-url") {
    where.endpoint_url = value;
  } else if (flag == "--region") {
    where.region = value;
  } else if (flag == "--data-dir") {
    where.data_dir = value;
  } else if (flag == "--profile") {
    where.profile = value;
  } else {
    return false;
  }
  return true;
}

std::string_view connection_flags_usage() {
  return "  --data-dir DIR       the server's data directory: its credentials and server.json\n"
         "                       (default $XDG_DATA_HOME/stageline or ~/.local/share/stageline)\n"
         "  --endpoint-url URL   the server (default: server.json's, else http://127.0.0.1:7300)\n"
         "  --region REGION      the signing region (default: server.json's, else us-east-1)\n"
         "  --profile NAME       the credentials file's profile (default: default)\n";
}

std::string verb_usage(const VerbSpec& verb) {
  std::string u = "usage: stageline " + std::string(verb.name);
  for (const auto& p : verb.params) {
    std::string f = "--" + std::string(p.flag);
    if (p.kind == ParamKind::kBoolean)
      f = "--" + std::string(p.flag) + " | --no-" + std::string(p.flag);
    else if (p.kind == ParamKind::kInteger)
      f += " N";
    else if (p.kind == ParamKind::kList)
      f += " VALUE [VALUE...]";
    else
      f += " VALUE";
    u += p.required ? " " + f : " [" + f + "]";
  }
  u += " [--cli-input-json JSON]";
  if (verb.pagination) u += " [--max-items N] [--starting-token T] [--page-size N] [--no-paginate]";
  u += "\n\n" + std::string(verb.summary) + " (the " + std::string(verb.operation) +
       " operation; flags and output as `aws codepipeline " + std::string(verb.name) +
       "`).\nValues may be file://PATH; structures are JSON or shorthand (a=b,c=d).\n\n";
  u += std::string(connection_flags_usage());
  return u;
}

Result<json::value> parse_structure_value(std::string_view text) {
  std::string_view trimmed = text;
  while (!trimmed.empty() && (trimmed.front() == ' ' || trimmed.front() == '\n'))
    trimmed.remove_prefix(1);
  if (starts_with(trimmed, "{") || starts_with(trimmed, "[")) {
    json::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec) return Status::invalid("Invalid JSON: " + ec.message());
    return v;
  }
  return Shorthand(text).parse();
}

Result<VerbRequest> parse_verb_args(const VerbSpec& verb, const std::vector<std::string>& args) {
  VerbRequest r;
  json::object flags;  // members given as flags; they win over --cli-input-json
  std::optional<json::object> cli_input;
  std::vector<std::string> known = {"cli-input-json", "endpoint-url", "region",
                                    "data-dir",       "profile",      "output"};
  if (verb.pagination)
    for (const char* f : {"max-items", "starting-token", "page-size", "no-paginate"})
      known.push_back(f);
  for (const auto& p : verb.params) {
    known.push_back(std::string(p.flag));
    if (p.kind == ParamKind::kBoolean) known.push_back("no-" + std::string(p.flag));
  }

  for (size_t i = 0; i < args.size(); ++i) {
    std::string word = args[i];
    if (word == "help" || word == "--help" || word == "-h") {
      r.help = true;
      return r;
    }
    if (!is_flag(word)) return usage_error("Unknown options: " + word);
    std::string name = word.substr(2);
    std::optional<std::string> inline_value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    // The value of a one-value flag: inline, or the next word.
    auto take = [&]() -> Result<std::string> {
      if (inline_value) return *inline_value;
      if (i + 1 >= args.size())
        return usage_error("argument --" + name + ": expected one argument");
      return args[++i];
    };

    const ParamSpec* spec = nullptr;
    bool negated = false;
    for (const auto& p : verb.params) {
      if (p.flag == name) spec = &p;
      if (p.kind == ParamKind::kBoolean && "no-" + std::string(p.flag) == name) {
        spec = &p;
        negated = true;
      }
    }
    if (spec) {
      switch (spec->kind) {
        case ParamKind::kBoolean:
          if (inline_value) return usage_error("argument --" + name + ": takes no value");
          flags[spec->member] = !negated;
          break;
        case ParamKind::kString: {
          auto v = take();
          if (!v.ok()) return v.status();
          auto text = load_value(name, *v);
          if (!text.ok()) return text.status();
          flags[spec->member] = json::string(*text);
          break;
        }
        case ParamKind::kInteger: {
          auto v = take();
          if (!v.ok()) return v.status();
          auto n = parse_int(name, *v);
          if (!n.ok()) return n.status();
          flags[spec->member] = *n;
          break;
        }
        case ParamKind::kStructure: {
          auto v = take();
          if (!v.ok()) return v.status();
          auto text = load_value(name, *v);
          if (!text.ok()) return text.status();
          auto parsed = parse_structure_value(*text);
          if (!parsed.ok())
            return usage_error("Error parsing parameter '--" + name +
                               "': " + parsed.status().message());
          if (!parsed->is_object())
            return usage_error("Error parsing parameter '--" + name + "': expected a structure");
          flags[spec->member] = std::move(*parsed);
          break;
        }
        case ParamKind::kList: {
          std::vector<std::string> values;
          if (inline_value) values.push_back(*inline_value);
          while (i + 1 < args.size() && !is_flag(args[i + 1])) values.push_back(args[++i]);
          if (values.empty())
            return usage_error("argument --" + name + ": expected at least one argument");
          json::array items;
          for (const auto& raw : values) {
            auto text = load_value(name, raw);
            if (!text.ok()) return text.status();
            auto parsed = parse_structure_value(*text);
            if (!parsed.ok())
              return usage_error("Error parsing parameter '--" + name +
                                 "': " + parsed.status().message());
            if (parsed->is_array() && values.size() == 1) {
              items = std::move(parsed->as_array());
            } else if (parsed->is_object()) {
              items.push_back(std::move(*parsed));
            } else {
              return usage_error("Error parsing parameter '--" + name +
                                 "': expected structures or one JSON list");
            }
          }
          flags[spec->member] = std::move(items);
          break;
        }
      }
      continue;
    }

    if (name == "no-paginate" && verb.pagination) {
      r.paginate = false;
      continue;
    }
    if (name == "endpoint-url" || name == "region" || name == "data-dir" || name == "profile" ||
        name == "output" || name == "cli-input-json" ||
        ((name == "max-items" || name == "page-size" || name == "starting-token") &&
         verb.pagination)) {
      auto v = take();
      if (!v.ok()) return v.status();
      if (name == "endpoint-url") r.where.endpoint_url = *v;
      if (name == "region") r.where.region = *v;
      if (name == "data-dir") r.where.data_dir = *v;
      if (name == "profile") r.where.profile = *v;
      if (name == "starting-token") r.starting_token = *v;
      if (name == "output" && *v != "json")
        return usage_error("--output " + *v + " is not supported; stageline prints json");
      if (name == "max-items" || name == "page-size") {
        auto n = parse_int(name, *v);
        if (!n.ok()) return n.status();
        if (*n < 1) return usage_error("argument --" + name + ": must be at least 1");
        (name == "max-items" ? r.max_items : r.page_size) = *n;
      }
      if (name == "cli-input-json") {
        auto text = load_value(name, *v);
        if (!text.ok()) return text.status();
        auto parsed = parse_json_text(name, *text);
        if (!parsed.ok()) return parsed.status();
        if (!parsed->is_object())
          return usage_error("Error parsing parameter '--cli-input-json': expected a JSON object");
        cli_input = std::move(parsed->as_object());
      }
      continue;
    }
    std::string hint = closest_match(name, known);
    return usage_error("Unknown options: --" + name +
                       (hint.empty() ? "" : " (did you mean --" + hint + "?)"));
  }

  if (cli_input) r.input = std::move(*cli_input);
  for (auto& member : flags) r.input[member.key()] = std::move(member.value());
  std::vector<std::string> missing;
  for (const auto& p : verb.params)
    if (p.required && !r.input.contains(p.member)) missing.push_back("--" + std::string(p.flag));
  if (!missing.empty())
    return usage_error("the following arguments are required: " + join(missing, ", "));
  if (verb.idempotency_token && !r.input.contains("clientRequestToken"))
    r.input["clientRequestToken"] = random_uuid();
  return r;
}

Result<Outcome> run_operation(const VerbSpec& verb, const VerbRequest& request,
                              const Caller& call) {
  Outcome outcome;
  if (!verb.pagination || !request.paginate) {
    auto reply = call(verb.operation, request.input);
    if (!reply.ok()) return reply.status();
    outcome.output = std::move(reply->output);
    outcome.error = std::move(reply->error);
    return outcome;
  }

  // botocore's PageIterator.__iter__ and build_full_result, for one result
  // key, the "nextToken" tokens and the "maxResults" limit key.
  const std::string_view result_key = verb.pagination->result_key;
  json::object input = request.input;
  if (request.page_size) input["maxResults"] = *request.page_size;
  json::value next_token = nullptr;  // the token that fetched the current page
  int64_t starting_truncation = 0;
  if (!request.starting_token.empty()) {
    auto start = decode_starting_token(request.starting_token);
    if (!start.ok()) return start.status();
    next_token = start->next_token;
    starting_truncation = start->truncate;
    if (next_token.is_string()) input[kToken] = next_token;
  }
  json::array items;
  bool have_items = false;
  std::optional<json::object> resume;
  int64_t total = 0;
  bool first = true;
  json::value previous = nullptr;
  for (;;) {
    auto reply = call(verb.operation, input);
    if (!reply.ok()) return reply.status();
    if (reply->error) {
      outcome.error = std::move(reply->error);
      return outcome;
    }
    json::object& page = reply->output;
    json::array page_items;
    const bool page_has_items = page.contains(result_key) && page.at(result_key).is_array();
    if (page_has_items) page_items = std::move(page.at(result_key).as_array());
    if (first) {
      if (starting_truncation > 0) {
        const size_t drop =
            std::min<size_t>(static_cast<size_t>(starting_truncation), page_items.size());
        page_items.erase(page_items.begin(), page_items.begin() + static_cast<ptrdiff_t>(drop));
      }
      first = false;
    } else {
      starting_truncation = 0;
    }
    const int64_t count = static_cast<int64_t>(page_items.size());
    have_items = have_items || page_has_items;
    int64_t truncate = request.max_items ? total + count - *request.max_items : 0;
    if (truncate > 0) {
      const int64_t keep = count - truncate;
      page_items.resize(static_cast<size_t>(keep));
      json::object token;
      token[kToken] = next_token;
      token[kTruncate] = keep + starting_truncation;
      resume = std::move(token);
      for (auto& item : page_items) items.push_back(std::move(item));
      break;
    }
    for (auto& item : page_items) items.push_back(std::move(item));
    total += count;
    json::value next = nullptr;
    if (auto* t = page.if_contains(kToken); t && t->is_string()) next = *t;
    if (next.is_null()) break;
    if (request.max_items && total == *request.max_items) {
      resume = json::object{{kToken, next}};
      break;
    }
    if (!previous.is_null() && previous == next)
      return Status::io("The same next token was received twice: {'nextToken': '" +
                        std::string(next.as_string()) + "'}");
    previous = next;
    next_token = next;
    input[kToken] = next;
  }
  if (have_items) outcome.output[result_key] = std::move(items);
  if (resume) outcome.output["NextToken"] = base64_encode(python_compact_json(*resume));
  return outcome;
}

int run_client_verb(const VerbSpec& verb, const std::vector<std::string>& args,
                    const ClientEnvironment& env, std::ostream& out, std::ostream& err) {
  auto request = parse_verb_args(verb, args);
  if (!request.ok()) {
    err << "stageline " << verb.name << ": error: " << request.status().message() << "\n"
        << "(stageline " << verb.name << " --help shows the flags)\n";
    return kExitUsage;
  }
  if (request->help) {
    out << verb_usage(verb);
    return kExitOk;
  }
  request->where.default_data_dir = env.default_data_dir;
  request->where.shared_credentials_file = env.shared_credentials_file;
  auto location = api::client::locate_server(request->where);
  if (!location.ok()) {
    err << "stageline " << verb.name << ": " << location.status().message() << "\n";
    return kExitServiceError;
  }
  auto client = api::client::ApiClient::create(std::move(*location));
  if (!client.ok()) {
    err << "stageline " << verb.name << ": " << client.status().message() << "\n";
    return kExitServiceError;
  }
  Caller call = [&](std::string_view operation, const json::object& input) {
    return client->send(api::client::kCodePipelineTargetPrefix, operation, input);
  };
  auto outcome = run_operation(verb, *request, call);
  if (!outcome.ok()) {
    err << "stageline " << verb.name << ": " << outcome.status().message() << "\n";
    return kExitServiceError;
  }
  if (outcome->error) {
    // The aws CLI's rendering of a ClientError (awscli/utils.py write_exception).
    err << "\n" << format_service_error(verb.operation, *outcome->error) << "\n";
    return kExitServiceError;
  }
  // The aws CLI prints what botocore parsed: members in the model's order.
  json::object& output = outcome->output;
  std::optional<json::value> next_token;
  if (auto* t = output.if_contains("NextToken"); t && verb.pagination) {
    next_token = std::move(*t);
    output.erase("NextToken");
  }
  const wire::Operation* op = wire::codepipeline_model().find_operation(verb.operation);
  json::value shown = order_like_botocore(op ? op->output : nullptr, std::move(output));
  if (next_token) shown.as_object()["NextToken"] = std::move(*next_token);
  if (!shown.as_object().empty()) out << format_aws_json(shown) << "\n";
  out.flush();
  return kExitOk;
}

std::string format_service_error(std::string_view operation,
                                 const api::client::ServiceError& error) {
  std::string retries;
  if (error.max_attempts_reached)
    retries = " (reached max retries: " + std::to_string(error.retry_attempts) + ")";
  return "An error occurred (" + error.type + ") when calling the " + std::string(operation) +
         " operation" + retries + ": " + error.message;
}

std::string random_uuid() {
  std::random_device rd;
  unsigned char b[16];
  for (size_t i = 0; i < 16; i += 4) {
    uint32_t v = rd();
    for (size_t k = 0; k < 4; ++k) b[i + k] = static_cast<unsigned char>(v >> (8 * k));
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    s += kHex[b[i] >> 4];
    s += kHex[b[i] & 15];
  }
  return s;
}

}  // namespace stageline::cli
