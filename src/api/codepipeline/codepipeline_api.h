// api/codepipeline: CodePipeline's operations (botocore model 2015-07-09) as
// the aws CLI and the SDKs see them: one validated wire::Call in, the output
// value or AWS's error out. Reads come from the store; every change goes
// through the engine, except those the store owns alone: tags
// (set_pipeline_tags), job claims (claim_jobs, claim_matching_jobs,
// acknowledge_job), custom action types (put_custom_action_type,
// mark_custom_action_type_deleted; see action_types.cc), registered
// third-party action types (resources of kind "action-type"; see
// action_types.cc) and the output artifacts a job worker reports (see
// jobs.cc). docs/api.md lists each operation, what differs from AWS and the
// errors.
//
// Depends on engine, store, wire (errors, page tokens, timestamps),
// definitions (validation, the action-type catalogue) and model. Never on
// Asio/Beast, HTTP or SigV4: the server authenticates and routes, then calls
// call() with the caller it authenticated.
//
// Not thread-safe: the engine is not, so the server calls it on the engine's
// control thread only.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/wire/errors.h"
#include "api/wire/model.h"
#include "api/wire/pagination.h"
#include "api/wire/wire.h"
#include "definitions/catalogue.h"
#include "engine/engine.h"
#include "model/execution.h"
#include "store/store.h"

namespace stageline::api {

// Who signed the request (SigV4 verified by the server).
struct Caller {
  std::string principal;      // an ARN: trigger detail, lastChangedBy, job claims
  std::string access_key_id;  // handed to job workers as artifactCredentials.accessKeyId
};

struct ApiOptions {
  std::string region = "us-east-1";
  std::string account_id = "111122223333";
  std::function<model::TimestampMs()> now_ms;
  // HMAC key for nextToken values (wire::PageTokens). REQUIRES: 16 bytes or
  // more; keep it across restarts so tokens stay valid.
  std::string page_token_key;
};

// Owns a cache of the custom action types (the store keeps them; loaded on
// the first call and again after each change it makes) and the page-token
// key; borrows the engine and the store, which must outlive it.
class CodePipelineApi {
 public:
  // REQUIRES: options.now_ms is set; options.page_token_key has >= 16 bytes.
  CodePipelineApi(engine::Engine& engine, store::Store& store, ApiOptions options);

  // One validated call (the input already matches the operation's input
  // shape). Returns the output value (an empty object for operations without
  // output) or the error to answer with: a modeled exception with AWS's
  // message, ValidationException naming what is not available yet, or
  // InternalFailure (its cause in Error::detail, for the log) when the store
  // fails. Never throws.
  wire::Outcome<boost::json::value> call(const wire::Call& call, const Caller& caller);

  // The pipeline ARN: arn:aws:codepipeline:<region>:<account>:<name>.
  std::string pipeline_arn(const std::string& name) const;

  // A Stageline extension (docs/api.md, "Registered action types"), which
  // the server routes from /action-types after authenticating the request:
  //   POST with UpdateActionType's input ({"actionType": ActionTypeDeclaration})
  //        registers a new ThirdParty action type and answers {"actionType"};
  //   GET  answers {"actionTypes": [ActionTypeDeclaration, ...]}, every
  //        registered type in (category, provider, version) order.
  // The body is checked against the model's UpdateActionTypeInput shape as a
  // JSON request would be. Answers the HTTP response: 200, or an AWS JSON
  // error (ValidationException, SerializationException, 405 for another
  // method, InternalFailure when the store fails). Never throws.
  wire::Response action_types_extension(std::string_view method, std::string_view body);

  // Where this server is reached, for the URLs of webhooks
  // ("http://127.0.0.1:7300"); called when a URL is shown, so the server may
  // set it before it knows its port. Unset: "http://127.0.0.1".
  void set_endpoint_url(std::function<std::string()> endpoint_url);

  // An unsigned POST /webhooks/TOKEN, as GitHub, Gitea or GitLab send one
  // (docs/api.md, "Webhooks"): the webhook with that token checks it (its
  // authentication, then every filter) and starts an execution of its
  // pipeline (trigger Webhook). Answers 404 for an unknown token, 403 when
  // the authentication fails, 400 for a body that is not JSON, 200 with
  // {"started": false, "message"} when a filter does not match, 200 with
  // {"started": true, "pipelineExecutionId"}, or the engine's error.
  struct WebhookDelivery {
    std::string_view token;
    std::string_view body;
    std::string_view peer;              // "127.0.0.1:53122" or "[::1]:53122"
    std::string_view signature_sha256;  // X-Hub-Signature-256, "" if absent
    std::string_view signature_sha1;    // X-Hub-Signature, "" if absent
  };
  wire::Response receive_webhook(const WebhookDelivery& delivery);

 private:
  using Out = wire::Outcome<boost::json::value>;
  using In = boost::json::object;

  // pipelines.cc
  Out create_pipeline(const In& in, const Caller& caller);
  Out get_pipeline(const In& in);
  Out update_pipeline(const In& in);
  Out delete_pipeline(const In& in);
  Out list_pipelines(const wire::Operation& op, const In& in);
  Out tag_resource(const In& in);
  Out untag_resource(const In& in);
  Out list_tags_for_resource(const In& in);
  // executions.cc
  Out start_pipeline_execution(const In& in, const Caller& caller);
  Out get_pipeline_execution(const In& in);
  Out list_pipeline_executions(const wire::Operation& op, const In& in);
  Out stop_pipeline_execution(const In& in);
  Out retry_stage_execution(const In& in);
  Out rollback_stage(const In& in, const Caller& caller);
  Out override_stage_condition(const In& in);
  Out set_stage_transition(const In& in, bool enabled, const Caller& caller);
  Out put_approval_result(const In& in, const Caller& caller);
  Out list_action_executions(const wire::Operation& op, const In& in);
  Out list_rule_executions(const wire::Operation& op, const In& in);
  // state.cc
  Out get_pipeline_state(const In& in);
  // jobs.cc
  Out poll_for_jobs(const In& in, const Caller& caller);
  Out acknowledge_job(const In& in);
  Out get_job_details(const In& in, const Caller& caller);
  Out put_job_success_result(const In& in);
  Out put_job_failure_result(const In& in);
  Out list_rule_types(const In& in);
  // AcknowledgeJob and AcknowledgeThirdPartyJob, after their own checks.
  Out acknowledge(const std::string& job_id, const std::string& nonce);
  // jobs.cc, third-party jobs (reference §11.3)
  Out poll_for_third_party_jobs(const In& in, const Caller& caller);
  Out get_third_party_job_details(const In& in, const Caller& caller);
  Out acknowledge_third_party_job(const In& in);
  Out put_third_party_job_success_result(const In& in);
  Out put_third_party_job_failure_result(const In& in);
  // The job named by in.jobId whose clientId is in.clientToken: else
  // JobNotFoundException, InvalidJobException (GetThirdPartyJobDetails, for
  // a job of another owner; `invalid_job_modeled`) or
  // InvalidClientTokenException.
  wire::Outcome<model::JobRecord> third_party_job(const In& in, bool invalid_job_modeled);
  // webhooks.cc
  Out put_webhook(const In& in);
  Out list_webhooks(const In& in);
  Out delete_webhook(const In& in);
  // RegisterWebhookWithThirdParty and DeregisterWebhookWithThirdParty.
  Out webhook_registration(const In& in);
  // A stored webhook document as ListWebhookItem (secret redacted).
  boost::json::object webhook_item(const boost::json::object& document) const;
  std::string webhook_arn(const std::string& name) const;
  // revisions.cc
  Out put_action_revision(const In& in, const Caller& caller);
  Out list_deploy_action_execution_targets(const In& in);
  // action_types.cc
  Out create_custom_action_type(const In& in);
  Out delete_custom_action_type(const In& in);
  Out list_action_types(const In& in);
  Out get_action_type(const In& in);
  Out update_action_type(const In& in);
  // The registration checks of a ThirdParty action type (UpdateActionType
  // and the /action-types extension): the declaration to store, or the error.
  wire::Outcome<boost::json::object> registration(const boost::json::object& declaration);
  Out register_action_type(const In& in);

  struct CustomType {
    store::CustomActionTypeRecord record;
    boost::json::object definition;  // record.definition_json, parsed
    definitions::ActionTypeInfo info;
    std::string queryable;  // the name of its queryable property, "" if none
  };
  // A ThirdParty action type registered with the /action-types extension,
  // stored as a resource (service "codepipeline", kind "action-type", name
  // "<category>/<provider>/<version>").
  struct RegisteredType {
    model::ActionTypeId id;           // owner is kThirdParty
    boost::json::object declaration;  // the ActionTypeDeclaration as registered
    definitions::ActionTypeInfo info;
  };
  // Reads every custom action type and every registered one from the store
  // into custom_types_ and registered_types_ and rebuilds catalogue_
  // (built-in types plus the live custom ones and the registered ones). An
  // error if the store fails or holds a definition this build cannot read.
  Status load_custom_types();
  // The registered type with exactly this id, or nullptr.
  const RegisteredType* registered_type(const model::ActionTypeId& id) const;
  // The custom type with id's category, provider and version, live or
  // deleted; nullptr if there is none.
  const CustomType* custom_type(const model::ActionTypeId& id) const;
  // CreatePipeline/UpdatePipeline: the value of each custom action's
  // queryable property must be one PollForJobs can ask for (reference
  // §11.1). The error to answer with, or nullopt.
  std::optional<wire::Error> check_queryable_values(const model::PipelineDeclaration& decl) const;

  // The JobData of `job` (PollForJobs, GetJobDetails).
  wire::Outcome<boost::json::value> job_data(const model::JobRecord& job, const Caller& caller);
  // The output locations a job worker uploads to: stable for an action
  // execution, so PollForJobs, GetJobDetails and PutJobSuccessResult agree.
  model::ArtifactLocation output_location(const std::string& bucket, const std::string& pipeline,
                                          const std::string& artifact,
                                          const std::string& action_execution_id) const;
  // The stored pipeline, or PipelineNotFoundException.
  wire::Outcome<model::PipelineRecord> pipeline(const std::string& name);
  // What ListActionExecutions and ListRuleExecutions share: the pipeline
  // (which must exist), page size, the execution filter and the page token.
  struct ExecutionListing {
    std::string name;
    int64_t limit = 100;
    std::string execution_filter;
    bool latest_only = false;
    std::string scope;            // what a page token is bound to
    boost::json::value position;  // null on the first page
  };
  wire::Outcome<ExecutionListing> execution_listing(const wire::Operation& op, const In& in);
  // An execution of `pipeline_name`, or PipelineExecutionNotFoundException.
  wire::Outcome<model::PipelineExecutionRecord> execution(const std::string& pipeline_name,
                                                          const std::string& id);
  // Version `version` of a pipeline, cached for one call; nullptr if gone.
  const model::PipelineDeclaration* declaration(const std::string& name, int version);

  // Errors.
  wire::Error error(std::string_view type, std::string message) const;
  // An engine or store Status: the AWS exception it names, else
  // InternalFailure with the message kept for the log only.
  wire::Error from_status(const Status& status) const;
  wire::Error not_available(std::string_view operation) const;

  engine::Engine& engine_;
  store::Store& store_;
  ApiOptions options_;
  const wire::ServiceModel& model_;
  wire::PageTokens tokens_;
  // Built-in action types plus the live custom ones (rebuilt on each change).
  definitions::Catalogue catalogue_;
  // Built-in plus every custom type, deleted ones included: what secrets to
  // hide (a deleted type's secrets stay hidden in old pipelines).
  definitions::Catalogue every_type_;
  std::vector<CustomType> custom_types_;          // in the store's order, deleted ones included
  std::vector<RegisteredType> registered_types_;  // in the store's (name) order
  bool custom_types_loaded_ = false;
  std::function<std::string()> endpoint_url_;
  std::map<std::pair<std::string, int>, std::optional<model::PipelineDeclaration>> versions_;
};

}  // namespace stageline::api
