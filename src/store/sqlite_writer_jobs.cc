// Jobs: the job-worker protocol's queue (reference section 11.2).

#include <sqlite3.h>

#include <algorithm>
#include <tuple>

#include "base/strings.h"
#include "store/record_json.h"
#include "store/sqlite_writer.h"

namespace stageline::store {
namespace {

#define JOB_COLUMNS                                                                        \
  "id, nonce, action_execution_id, execution_id, pipeline_name, stage_name, action_name, " \
  "action_category, action_owner, action_provider, action_version, status, claimed_by, "   \
  "continuation_token, created_at_ms, updated_at_ms, client_id"

Result<model::JobRecord> read_job(sqlite::Statement& st) {
  model::JobRecord j;
  j.id = st.column_text(0);
  const auto context = [&] { return "read job " + j.id; };
  j.nonce = st.column_text(1);
  j.action_execution_id = st.column_text(2);
  j.execution_id = st.column_text(3);
  j.pipeline_name = st.column_text(4);
  j.stage_name = st.column_text(5);
  j.action_name = st.column_text(6);
  auto category = decode_enum_column<model::ActionCategory>(st.column_text(7));
  if (!category.ok()) return category.status().with_context(context());
  j.action_type_id.category = *category;
  auto owner = decode_enum_column<model::ActionOwner>(st.column_text(8));
  if (!owner.ok()) return owner.status().with_context(context());
  j.action_type_id.owner = *owner;
  j.action_type_id.provider = st.column_text(9);
  j.action_type_id.version = st.column_text(10);
  auto status = decode_enum_column<model::JobStatus>(st.column_text(11));
  if (!status.ok()) return status.status().with_context(context());
  j.status = *status;
  j.claimed_by = st.column_text(12);
  j.continuation_token = st.column_text(13);
  j.created_ms = st.column_int64(14);
  j.updated_ms = st.column_int64(15);
  j.client_id = st.column_text(16);
  if (!st.column_status().ok()) return st.column_status().with_context(context());
  return j;
}

Status job_not_found() { return Status::not_found("no job has this id"); }

Status job_in_wrong_state(model::JobStatus status, std::string_view expected) {
  return {StatusCode::kFailedPrecondition,
          "the job is " + std::string(model::to_string(status)) + ", not " + std::string(expected)};
}

// `status` from get_job() seen from an operation on the job: "acknowledge
// job 4f2a: no job has this id" rather than repeating "get job 4f2a".
Status in_context(const Status& status, const std::string& context) {
  if (status.code() == StatusCode::kNotFound) return job_not_found().with_context(context);
  return status.with_context(context);
}

bool finished(model::JobStatus status) {
  return status == model::JobStatus::kSucceeded || status == model::JobStatus::kFailed ||
         status == model::JobStatus::kTimedOut;
}

// 128 random bits as 32 lower-case hex digits, from SQLite's PRNG (seeded
// from the operating system's randomness source). The nonce only tells one
// claim from another; it is not a secret.
std::string fresh_nonce() {
  unsigned char bytes[16];
  sqlite3_randomness(sizeof bytes, bytes);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

// A lower-case version 4 UUID from the same randomness as fresh_nonce(): a
// third-party job's clientId, which the model's ClientId pattern requires to
// look like a UUID.
std::string fresh_client_id() {
  unsigned char b[16];
  sqlite3_randomness(sizeof b, b);
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0xf]);
  }
  return out;
}

}  // namespace

Result<model::JobRecord> SqliteWriter::get_job(const std::string& job_id) {
  const std::string context = "get job " + job_id;
  auto st = db_.prepare("SELECT " JOB_COLUMNS " FROM jobs WHERE id = ?");
  if (!st.ok()) return st.status().with_context(context);
  auto row = st->bind(1, job_id).next();
  if (!row.ok()) return row.status().with_context(context);
  if (!*row) return job_not_found().with_context(context);
  return read_job(*st);
}

Result<std::vector<model::JobRecord>> SqliteWriter::list_jobs_by_status(
    const std::vector<model::JobStatus>& statuses) {
  std::vector<std::string> names;
  for (auto status : statuses) names.emplace_back(model::to_string(status));
  const std::string context = "list jobs in status " + join(names, ", ");
  auto st = db_.prepare("SELECT " JOB_COLUMNS
                        " FROM jobs WHERE status IN (SELECT value FROM json_each(?))"
                        " ORDER BY created_at_ms, seq");
  if (!st.ok()) return st.status().with_context(context);
  st->bind(1, encode_string_array_json(names));
  auto rows = collect_rows<model::JobRecord>(*st, read_job);
  if (!rows.ok()) return rows.status().with_context(context);
  return rows;
}

Status SqliteWriter::insert_job(const model::JobRecord& j) {
  const std::string context =
      "insert job " + j.id + " (action execution " + j.action_execution_id + ")";
  auto found = exists("SELECT 1 FROM action_executions WHERE id = ?", j.action_execution_id);
  if (!found.ok()) return found.status().with_context(context);
  if (!*found) return Status::not_found("no action execution has this id").with_context(context);
  auto st = db_.prepare("INSERT INTO jobs (" JOB_COLUMNS
                        ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!st.ok()) return st.status().with_context(context);
  auto inserted =
      st->bind_all(j.id, j.nonce, j.action_execution_id, j.execution_id, j.pipeline_name,
                   j.stage_name, j.action_name, model::to_string(j.action_type_id.category),
                   model::to_string(j.action_type_id.owner), j.action_type_id.provider,
                   j.action_type_id.version, model::to_string(j.status), j.claimed_by,
                   j.continuation_token, j.created_ms, j.updated_ms, j.client_id)
          .run();
  if (!inserted.ok()) return inserted.status().with_context(context);
  return {};
}

Result<std::vector<model::JobRecord>> SqliteWriter::claim_jobs(
    const std::vector<model::ActionTypeId>& action_types, const std::string& claimed_by,
    int max_jobs, TimestampMs now_ms) {
  return claim(action_types, nullptr, claimed_by, max_jobs, now_ms);
}

Result<std::vector<model::JobRecord>> SqliteWriter::claim_matching_jobs(
    const model::ActionTypeId& action_type, const ConfigurationMatch& match,
    const std::string& claimed_by, int max_jobs, TimestampMs now_ms) {
  return claim({action_type}, &match, claimed_by, max_jobs, now_ms);
}

Result<std::vector<model::JobRecord>> SqliteWriter::claim(
    const std::vector<model::ActionTypeId>& action_types, const ConfigurationMatch* match,
    const std::string& claimed_by, int max_jobs, TimestampMs now_ms) {
  STAGELINE_CHECK(max_jobs >= 1);
  STAGELINE_CHECK(db_.in_transaction());
  std::string context = "claim jobs for " + quote(claimed_by);
  if (match != nullptr) context += " where " + match->key + " = " + quote(match->value);
  // Exclusivity comes from the transaction this runs in: every write
  // transaction starts with BEGIN IMMEDIATE, so between reading the queued
  // jobs and marking them dispatched no other connection can write.
  //
  // One indexed query per action type (each is an equality on
  // jobs_by_status_and_type), then the oldest `max_jobs` of all candidates.
  struct Candidate {
    int64_t created_ms;
    int64_t seq;
    std::string id;
    bool third_party = false;
  };
  std::vector<Candidate> candidates;
  //
  // With a match (PollForJobs' queryParam) the condition is part of the same
  // SELECT, so a job that does not match is never claimed, not even for a
  // moment: it stays queued for the worker whose poll names its value. The
  // configuration is the action execution's resolved one, the same the job
  // data shows as actionConfiguration; json_each compares the key as data,
  // never as a JSON path.
  for (const auto& type : action_types) {
    auto st = db_.prepare(
        match == nullptr
            ? "SELECT created_at_ms, seq, id FROM jobs WHERE status = 'Queued'"
              " AND action_category = ? AND action_owner = ? AND action_provider = ?"
              " AND action_version = ? ORDER BY created_at_ms, seq LIMIT ?"
            : "SELECT j.created_at_ms, j.seq, j.id FROM jobs j"
              " JOIN action_executions a ON a.id = j.action_execution_id"
              " WHERE j.status = 'Queued' AND j.action_category = ? AND j.action_owner = ?"
              " AND j.action_provider = ? AND j.action_version = ?"
              " AND EXISTS (SELECT 1 FROM json_each(a.resolved_configuration_json) c"
              "             WHERE c.key = ? AND c.type = 'text' AND c.value = ?)"
              " ORDER BY j.created_at_ms, j.seq LIMIT ?");
    if (!st.ok()) return st.status().with_context(context);
    st->bind_all(model::to_string(type.category), model::to_string(type.owner), type.provider,
                 type.version);
    if (match == nullptr) {
      st->bind(5, int64_t{max_jobs});
    } else {
      st->bind(5, match->key);
      st->bind(6, match->value);
      st->bind(7, int64_t{max_jobs});
    }
    auto rows = collect_rows<Candidate>(*st, [](sqlite::Statement& row) -> Result<Candidate> {
      Candidate c{row.column_int64(0), row.column_int64(1), row.column_text(2), false};
      if (!row.column_status().ok()) return row.column_status();
      return c;
    });
    if (!rows.ok()) return rows.status().with_context(context);
    for (auto& c : *rows) {
      c.third_party = type.owner == model::ActionOwner::kThirdParty;
      candidates.push_back(std::move(c));
    }
  }
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    return std::tie(a.created_ms, a.seq) < std::tie(b.created_ms, b.seq);
  });
  // The same action type may be given twice; a job is claimed once.
  candidates.erase(
      std::unique(candidates.begin(), candidates.end(),
                  [](const Candidate& a, const Candidate& b) { return a.seq == b.seq; }),
      candidates.end());
  if (static_cast<int>(candidates.size()) > max_jobs) candidates.resize(max_jobs);

  std::vector<model::JobRecord> claimed;
  for (const auto& c : candidates) {
    {
      // A third-party job gets a new clientId with each claim
      // (PollForThirdPartyJobs, reference section 11.3): the clientToken of
      // its later calls must be this claim's, not an earlier one's.
      auto st = db_.prepare(
          "UPDATE jobs SET status = 'Dispatched', nonce = ?, claimed_by = ?, updated_at_ms = ?,"
          " client_id = ? WHERE id = ? AND status = 'Queued'");
      if (!st.ok()) return st.status().with_context(context);
      auto changed = st->bind_all(fresh_nonce(), claimed_by, now_ms,
                                  c.third_party ? fresh_client_id() : "", c.id)
                         .run();
      if (!changed.ok()) return changed.status().with_context(context);
      STAGELINE_CHECK(*changed == 1);  // the write lock is held since the SELECT
    }
    auto job = get_job(c.id);
    if (!job.ok()) return job.status().with_context(context);
    claimed.push_back(std::move(*job));
  }
  return claimed;
}

Result<model::JobRecord> SqliteWriter::acknowledge_job(const std::string& job_id,
                                                       const std::string& nonce,
                                                       TimestampMs now_ms) {
  const std::string context = "acknowledge job " + job_id;
  auto job = get_job(job_id);
  if (!job.ok()) return in_context(job.status(), context);
  switch (job->status) {
    case model::JobStatus::kCreated:
    case model::JobStatus::kQueued:
      return job_in_wrong_state(job->status, "Dispatched: no worker has claimed it")
          .with_context(context);
    case model::JobStatus::kDispatched:
    case model::JobStatus::kInProgress:
      break;
    case model::JobStatus::kTimedOut:
    case model::JobStatus::kSucceeded:
    case model::JobStatus::kFailed:
      return job_in_wrong_state(job->status, "Dispatched").with_context(context);
  }
  if (job->nonce != nonce)
    return Status::invalid("the nonce does not match the job's current claim")
        .with_context(context);
  if (job->status == model::JobStatus::kInProgress) return job;

  auto st = db_.prepare(
      "UPDATE jobs SET status = 'InProgress', updated_at_ms = ? WHERE id = ?"
      " AND status = 'Dispatched' AND nonce = ?");
  if (!st.ok()) return st.status().with_context(context);
  auto changed = st->bind_all(now_ms, job_id, nonce).run();
  if (!changed.ok()) return changed.status().with_context(context);
  STAGELINE_CHECK(*changed == 1);  // read and written in one transaction
  job->status = model::JobStatus::kInProgress;
  job->updated_ms = now_ms;
  return job;
}

Result<model::JobRecord> SqliteWriter::complete_job(const std::string& job_id,
                                                    model::JobStatus outcome, TimestampMs now_ms) {
  STAGELINE_CHECK(finished(outcome));
  const std::string context =
      "complete job " + job_id + " as " + std::string(model::to_string(outcome));
  auto job = get_job(job_id);
  if (!job.ok()) return in_context(job.status(), context);
  if (job->status == outcome) return job;  // a repeated result changes nothing
  if (finished(job->status))
    return job_in_wrong_state(job->status, "in progress").with_context(context);
  if (outcome != model::JobStatus::kTimedOut && job->status != model::JobStatus::kInProgress)
    return job_in_wrong_state(job->status, "InProgress: the worker must acknowledge it first")
        .with_context(context);

  auto st = db_.prepare("UPDATE jobs SET status = ?, updated_at_ms = ? WHERE id = ?");
  if (!st.ok()) return st.status().with_context(context);
  auto changed = st->bind_all(model::to_string(outcome), now_ms, job_id).run();
  if (!changed.ok()) return changed.status().with_context(context);
  job->status = outcome;
  job->updated_ms = now_ms;
  return job;
}

}  // namespace stageline::store
