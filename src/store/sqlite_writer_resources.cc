// Service resources: JSON documents of the AWS services other than
// CodePipeline (docs/store-schema.md, table resources).

#include "base/strings.h"
#include "store/sqlite_writer.h"

namespace stageline::store {
namespace {

#define RESOURCE_COLUMNS "service, kind, name, document_json, created_at_ms, updated_at_ms"

std::string describe(std::string_view service, std::string_view kind, std::string_view name) {
  return std::string(service) + " " + std::string(kind) + " " + quote(name);
}

Result<ResourceRecord> read_resource(sqlite::Statement& st) {
  ResourceRecord r;
  r.service = st.column_text(0);
  r.kind = st.column_text(1);
  r.name = st.column_text(2);
  r.document_json = st.column_text(3);
  r.created_ms = st.column_int64(4);
  r.updated_ms = st.column_int64(5);
  if (!st.column_status().ok())
    return st.column_status().with_context("read " + describe(r.service, r.kind, r.name));
  return r;
}

Status resource_not_found() { return Status::not_found("there is no such resource"); }

}  // namespace

Result<ResourceRecord> SqliteWriter::get_resource(const std::string& service,
                                                  const std::string& kind,
                                                  const std::string& name) {
  const std::string context = "get " + describe(service, kind, name);
  auto st = db_.prepare("SELECT " RESOURCE_COLUMNS
                        " FROM resources WHERE service = ? AND kind = ? AND name = ?");
  if (!st.ok()) return st.status().with_context(context);
  auto row = st->bind_all(service, kind, name).next();
  if (!row.ok()) return row.status().with_context(context);
  if (!*row) return resource_not_found().with_context(context);
  return read_resource(*st);
}

Result<Page<ResourceRecord>> SqliteWriter::list_resources(const std::string& service,
                                                          const std::string& kind, int limit,
                                                          const std::string& after_key) {
  STAGELINE_CHECK(limit >= 1);
  const std::string context = "list " + service + " " + kind + " resources";
  auto st = db_.prepare("SELECT " RESOURCE_COLUMNS
                        " FROM resources WHERE service = ? AND kind = ? AND name > ?"
                        " ORDER BY name LIMIT ?");
  if (!st.ok()) return st.status().with_context(context);
  // One row more than asked says whether there is another page.
  st->bind_all(service, kind, after_key, int64_t{limit} + 1);
  auto page = collect_page<ResourceRecord>(
      *st, limit, read_resource,
      [](const ResourceRecord& r, sqlite::Statement&) { return r.name; });
  if (!page.ok()) return page.status().with_context(context);
  return page;
}

Status SqliteWriter::insert_resource(const ResourceRecord& r) {
  const std::string context = "create " + describe(r.service, r.kind, r.name);
  auto existing = get_resource(r.service, r.kind, r.name);
  if (existing.ok())
    return Status(StatusCode::kAlreadyExists, "a resource with this name exists")
        .with_context(context);
  if (existing.status().code() != StatusCode::kNotFound) return existing.status();
  auto st = db_.prepare("INSERT INTO resources (" RESOURCE_COLUMNS ") VALUES (?, ?, ?, ?, ?, ?)");
  if (!st.ok()) return st.status().with_context(context);
  auto inserted =
      st->bind_all(r.service, r.kind, r.name, r.document_json, r.created_ms, r.updated_ms).run();
  if (!inserted.ok()) return inserted.status().with_context(context);
  return {};
}

Status SqliteWriter::update_resource(const ResourceRecord& r) {
  const std::string context = "update " + describe(r.service, r.kind, r.name);
  auto st = db_.prepare(
      "UPDATE resources SET document_json = ?, updated_at_ms = ?"
      " WHERE service = ? AND kind = ? AND name = ?");
  if (!st.ok()) return st.status().with_context(context);
  auto changed = st->bind_all(r.document_json, r.updated_ms, r.service, r.kind, r.name).run();
  if (!changed.ok()) return changed.status().with_context(context);
  if (*changed == 0) return resource_not_found().with_context(context);
  return {};
}

Status SqliteWriter::delete_resource(const std::string& service, const std::string& kind,
                                     const std::string& name) {
  const std::string context = "delete " + describe(service, kind, name);
  auto st = db_.prepare("DELETE FROM resources WHERE service = ? AND kind = ? AND name = ?");
  if (!st.ok()) return st.status().with_context(context);
  auto changed = st->bind_all(service, kind, name).run();
  if (!changed.ok()) return changed.status().with_context(context);
  if (*changed == 0) return resource_not_found().with_context(context);
  return {};
}

}  // namespace stageline::store
