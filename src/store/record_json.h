// store/record_json: the JSON text of the record fields the store keeps in
// one column each (pipeline declarations and tags in the API's own JSON,
// resolved variables, source revisions, configuration and output-variable
// maps), and the parsing of enum columns. Private to the store module.
// Decoding never throws: text the store cannot read back is kInternal, since
// only the store writes these columns (docs/store-schema.md).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "model/execution.h"
#include "model/pipeline.h"

namespace stageline::store {

std::string encode_declaration_json(const model::PipelineDeclaration& declaration);
Result<model::PipelineDeclaration> decode_declaration_json(std::string_view text);

std::string encode_tags_json(const std::vector<model::Tag>& tags);
Result<std::vector<model::Tag>> decode_tags_json(std::string_view text);

// [{"name": ..., "resolvedValue": ...}], the API's ResolvedPipelineVariable.
std::string encode_variables_json(const std::vector<model::ResolvedVariable>& variables);
Result<std::vector<model::ResolvedVariable>> decode_variables_json(std::string_view text);

// [{"actionName", "revisionId", "revisionSummary", "revisionUrl"}], the API's
// SourceRevision.
std::string encode_source_revisions_json(const std::vector<model::SourceRevision>& revisions);
Result<std::vector<model::SourceRevision>> decode_source_revisions_json(std::string_view text);

// A JSON object of strings.
std::string encode_string_map_json(const std::map<std::string, std::string>& map);
Result<std::map<std::string, std::string>> decode_string_map_json(std::string_view text);

// A JSON array of strings: the parameter of `... IN (SELECT value FROM
// json_each(?))`, which binds a set of values to one placeholder.
std::string encode_string_array_json(const std::vector<std::string>& values);

// The enumerator stored as its API string `text`; kInternal if it is not one.
template <typename E>
Result<E> decode_enum_column(std::string_view text) {
  if (auto value = model::parse_enum<E>(text)) return *value;
  return Status::internal("stored value '" + std::string(text) + "' is not a " +
                          std::string(model::EnumTraits<E>::kShape));
}

}  // namespace stageline::store
