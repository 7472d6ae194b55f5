// CreatePipeline, GetPipeline, UpdatePipeline, DeletePipeline, ListPipelines
// and the tag operations (docs/api.md).
#include <algorithm>

#include "api/codepipeline/codepipeline_api.h"
#include "api/codepipeline/render.h"
#include "definitions/validation.h"
#include "model/pipeline_json.h"

namespace stageline::api {

namespace json = boost::json;

namespace {

constexpr std::string_view kMasked = "****";

std::string_view exception_for(definitions::ErrorType t) {
  switch (t) {
    case definitions::ErrorType::kInvalidStructureException:
    case definitions::ErrorType::kInvalidStageDeclarationException:
    case definitions::ErrorType::kInvalidActionDeclarationException:
    case definitions::ErrorType::kInvalidBlockerDeclarationException:
    case definitions::ErrorType::kInvalidTagsException:
    case definitions::ErrorType::kTooManyTagsException:
    case definitions::ErrorType::kValidationException:
      return definitions::to_string(t);
    // The wire layer has already refused wrong JSON types, and an API
    // declaration is never a template: these cannot come from validation of
    // a decoded input, but if they do they are a client's mistake.
    case definitions::ErrorType::kSerializationException:
    case definitions::ErrorType::kTemplateError:
      return "ValidationException";
  }
  return "ValidationException";
}

// The secret configuration values of `decl`'s actions (catalogue
// secret_config), replaced by "****" for output, or, with `previous`, the
// "****" of an update replaced by the stored value of the same action.
void mask_secrets(model::PipelineDeclaration& decl, const definitions::Catalogue& catalogue,
                  const model::PipelineDeclaration* previous) {
  for (auto& stage : decl.stages) {
    for (auto& action : stage.actions) {
      const definitions::ActionTypeInfo* info = catalogue.find(action.action_type_id);
      if (info == nullptr || !action.configuration) continue;
      for (const auto& key : info->secret_config) {
        auto it = action.configuration->find(key);
        if (it == action.configuration->end()) continue;
        if (previous == nullptr) {
          it->second = kMasked;
          continue;
        }
        if (it->second != kMasked) continue;
        for (const auto& ps : previous->stages)
          if (ps.name == stage.name)
            for (const auto& pa : ps.actions)
              if (pa.name == action.name && pa.configuration)
                if (auto old = pa.configuration->find(key); old != pa.configuration->end())
                  it->second = old->second;
      }
    }
  }
}

}  // namespace

// Decodes and validates the declaration of CreatePipeline/UpdatePipeline;
// the first error decides the exception, as AWS answers one.
static wire::Outcome<model::PipelineDeclaration> read_declaration(
    const json::object& in, const definitions::Catalogue& catalogue, const std::string& region,
    const wire::ServiceModel& model) {
  const json::value* value = in.if_contains("pipeline");
  if (value == nullptr)
    return wire::modeled_error(model, "ValidationException",
                               "1 validation error detected: Value null at 'pipeline' failed to "
                               "satisfy constraint: Member must not be null");
  model::Decoded<model::PipelineDeclaration> decoded = model::decode_pipeline(*value, "");
  if (!decoded.ok())
    return wire::modeled_error(model, "ValidationException", decoded.errors.front().message);
  definitions::ValidateOptions options;
  options.region = region;
  options.catalogue = &catalogue;
  for (const auto& p : definitions::validate_pipeline(decoded.value, options))
    if (p.severity == definitions::Severity::kError)
      return wire::modeled_error(model, exception_for(p.type), p.message);
  return std::move(decoded.value);
}

wire::Outcome<std::vector<model::Tag>> read_tags(const json::object& in,
                                                 const wire::ServiceModel& model) {
  const json::value* value = in.if_contains("tags");
  if (value == nullptr) return std::vector<model::Tag>{};
  auto decoded = model::decode_tags(*value, "tags");
  if (!decoded.ok())
    return wire::modeled_error(model, "ValidationException", decoded.errors.front().message);
  for (const auto& p : definitions::validate_tags(decoded.value, "tags"))
    if (p.severity == definitions::Severity::kError)
      return wire::modeled_error(model, exception_for(p.type), p.message);
  return std::move(decoded.value);
}

CodePipelineApi::Out CodePipelineApi::create_pipeline(const In& in, const Caller& caller) {
  auto decl = read_declaration(in, catalogue_, options_.region, model_);
  if (!decl.ok()) return decl.error();
  if (auto bad = check_queryable_values(*decl)) return *bad;
  auto tags = read_tags(in, model_);
  if (!tags.ok()) return tags.error();
  model::PipelineRecord record;
  record.declaration = std::move(*decl);
  record.declaration.version = 1;
  record.tags = std::move(*tags);
  record.created_ms = record.updated_ms = options_.now_ms();
  if (Status s = engine_.create_pipeline(record); !s.ok()) return from_status(s);
  // AWS starts a new pipeline at once (trigger CreatePipeline). A start that
  // fails (a variable without a default has no value) leaves the pipeline
  // created, as AWS does; only a store failure is reported.
  const auto& vars = record.declaration.variables;
  bool startable = !vars || std::all_of(vars->begin(), vars->end(),
                                        [](const auto& v) { return v.default_value.has_value(); });
  if (startable) {
    auto started = engine_.start_execution(record.declaration.name, {},
                                           model::TriggerType::kCreatePipeline, caller.principal);
    if (!started.ok() && started.status().code() == StatusCode::kIo)
      return from_status(started.status());
  }
  auto stored = pipeline(record.declaration.name);
  if (!stored.ok()) return stored.error();
  mask_secrets(stored->declaration, every_type_, nullptr);
  json::object out{{"pipeline", model::encode_pipeline(stored->declaration)}};
  if (!stored->tags.empty()) out["tags"] = model::encode_tags(stored->tags);
  return json::value(std::move(out));
}

CodePipelineApi::Out CodePipelineApi::get_pipeline(const In& in) {
  const std::string name = str(in, "name");
  auto record = pipeline(name);
  if (!record.ok()) return record.error();
  if (const json::value* v = in.if_contains("version"); v && v->is_int64()) {
    int version = static_cast<int>(v->as_int64());
    if (version != record->declaration.version.value_or(1)) {
      auto old = store_.get_pipeline_version(name, version);
      if (!old.ok()) {
        if (old.status().code() == StatusCode::kNotFound)
          return error("PipelineVersionNotFoundException",
                       "Pipeline '" + name + "' does not have version " + std::to_string(version));
        return from_status(old.status());
      }
      record = std::move(*old);
    }
  }
  mask_secrets(record->declaration, every_type_, nullptr);
  json::object metadata{{"pipelineArn", pipeline_arn(name)},
                        {"created", ts(record->created_ms)},
                        {"updated", ts(record->updated_ms)}};
  return json::value(json::object{{"pipeline", model::encode_pipeline(record->declaration)},
                                  {"metadata", std::move(metadata)}});
}

CodePipelineApi::Out CodePipelineApi::update_pipeline(const In& in) {
  auto decl = read_declaration(in, catalogue_, options_.region, model_);
  if (!decl.ok()) return decl.error();
  if (auto bad = check_queryable_values(*decl)) return *bad;
  auto current = pipeline(decl->name);
  if (!current.ok()) return current.error();
  mask_secrets(*decl, every_type_, &current->declaration);
  auto updated = engine_.update_pipeline(*decl);
  if (!updated.ok()) return from_status(updated.status());
  mask_secrets(updated->declaration, every_type_, nullptr);
  return json::value(json::object{{"pipeline", model::encode_pipeline(updated->declaration)}});
}

CodePipelineApi::Out CodePipelineApi::delete_pipeline(const In& in) {
  // AWS answers success for a pipeline that does not exist (the model lists
  // no PipelineNotFoundException for DeletePipeline).
  Status s = engine_.delete_pipeline(str(in, "name"));
  if (!s.ok() && s.code() != StatusCode::kNotFound) return from_status(s);
  return json::value(json::object());
}

CodePipelineApi::Out CodePipelineApi::list_pipelines(const wire::Operation& op, const In& in) {
  int limit = static_cast<int>(wire::page_size(op, in, "maxResults", 100));
  std::string after;
  if (auto token = opt_str(in, "nextToken")) {
    auto position = tokens_.redeem(op.name, "", *token);
    if (!position.ok()) return position.error();
    if (!position->is_string()) return error("InvalidNextTokenException", "Invalid token");
    after = std::string(position->as_string());
  }
  auto page = store_.list_pipelines(limit, after);
  if (!page.ok()) return from_status(page.status());
  json::array pipelines;
  for (const auto& p : page->items) {
    const auto& d = p.declaration;
    pipelines.push_back(json::object{{"name", d.name},
                                     {"version", d.version.value_or(1)},
                                     {"pipelineType", model::to_string(d.effective_type())},
                                     {"executionMode", model::to_string(d.effective_mode())},
                                     {"created", ts(p.created_ms)},
                                     {"updated", ts(p.updated_ms)}});
  }
  json::object out{{"pipelines", std::move(pipelines)}};
  if (!page->next_key.empty())
    out["nextToken"] = tokens_.issue(op.name, "", json::value(page->next_key));
  return json::value(std::move(out));
}

// ---- Tags -------------------------------------------------------------------

namespace {

// The pipeline an ARN names, or "" with `bad` set when it is no CodePipeline
// ARN at all (InvalidArnException).
std::string pipeline_of(std::string_view arn, std::string_view region, std::string_view account,
                        bool& bad, bool& elsewhere) {
  bad = elsewhere = false;
  constexpr std::string_view kPrefix = "arn:aws:codepipeline:";
  if (!arn.starts_with(kPrefix)) {
    bad = true;
    return "";
  }
  std::string_view rest = arn.substr(kPrefix.size());
  size_t a = rest.find(':');
  size_t b = a == std::string_view::npos ? a : rest.find(':', a + 1);
  if (b == std::string_view::npos || b + 1 >= rest.size()) {
    bad = true;
    return "";
  }
  std::string_view resource = rest.substr(b + 1);
  if (rest.substr(0, a) != region || rest.substr(a + 1, b - a - 1) != account ||
      resource.find(':') != std::string_view::npos || resource.find('/') != std::string_view::npos)
    elsewhere = true;  // another region or account, a webhook, an action type
  return std::string(resource);
}

}  // namespace

// One tagged resource: a pipeline of this account and region. A store
// failure is left in `failed` for from_status().
static wire::Outcome<model::PipelineRecord> tagged(store::Store& store,
                                                   const wire::ServiceModel& model,
                                                   const std::string& arn,
                                                   const ApiOptions& options, Status& failed) {
  bool bad = false, elsewhere = false;
  std::string name = pipeline_of(arn, options.region, options.account_id, bad, elsewhere);
  if (bad)
    return wire::modeled_error(model, "InvalidArnException", "The ARN " + arn + " is not valid");
  if (!elsewhere) {
    auto record = store.get_pipeline(name);
    if (record.ok()) return std::move(*record);
    if (record.status().code() != StatusCode::kNotFound) failed = record.status();
  }
  return wire::modeled_error(model, "ResourceNotFoundException",
                             "The resource with the ARN " + arn + " was not found");
}

CodePipelineApi::Out CodePipelineApi::tag_resource(const In& in) {
  const std::string arn = str(in, "resourceArn");
  Status failed;
  auto record = tagged(store_, model_, arn, options_, failed);
  if (!failed.ok()) return from_status(failed);
  if (!record.ok()) return record.error();
  auto add = read_tags(in, model_);
  if (!add.ok()) return add.error();
  std::vector<model::Tag> tags = record->tags;
  for (const auto& t : *add) {
    auto it = std::find_if(tags.begin(), tags.end(), [&](const auto& x) { return x.key == t.key; });
    if (it != tags.end())
      it->value = t.value;
    else
      tags.push_back(t);
  }
  for (const auto& p : definitions::validate_tags(tags, "tags"))
    if (p.severity == definitions::Severity::kError) {
      if (p.type == definitions::ErrorType::kTooManyTagsException)
        return error("TooManyTagsException", "Tag limit exceeded for resource [" + arn + "].");
      return error(exception_for(p.type), p.message);
    }
  if (Status s = store_.set_pipeline_tags(record->declaration.name, tags); !s.ok())
    return from_status(s);
  return json::value(json::object());
}

CodePipelineApi::Out CodePipelineApi::untag_resource(const In& in) {
  const std::string arn = str(in, "resourceArn");
  Status failed;
  auto record = tagged(store_, model_, arn, options_, failed);
  if (!failed.ok()) return from_status(failed);
  if (!record.ok()) return record.error();
  std::vector<model::Tag> tags = record->tags;
  if (const json::value* keys = in.if_contains("tagKeys"); keys && keys->is_array())
    for (const auto& k : keys->as_array()) {
      if (!k.is_string()) continue;
      if (k.as_string().starts_with("aws:"))
        return error("InvalidTagsException",
                     "Not allowed to modify system tags. System tags start with 'aws:'.");
      std::erase_if(tags, [&](const auto& t) { return t.key == k.as_string(); });
    }
  if (Status s = store_.set_pipeline_tags(record->declaration.name, tags); !s.ok())
    return from_status(s);
  return json::value(json::object());
}

CodePipelineApi::Out CodePipelineApi::list_tags_for_resource(const In& in) {
  // One page holds every tag (at most 50): a nextToken was never issued.
  if (auto token = opt_str(in, "nextToken")) {
    auto position = tokens_.redeem("ListTagsForResource", str(in, "resourceArn"), *token);
    if (!position.ok()) return position.error();
  }
  Status failed;
  auto record = tagged(store_, model_, str(in, "resourceArn"), options_, failed);
  if (!failed.ok()) return from_status(failed);
  if (!record.ok()) return record.error();
  return json::value(json::object{{"tags", model::encode_tags(record->tags)}});
}

}  // namespace stageline::api
