#!/usr/bin/env bash
# End-to-end: `stageline server` driven by the real aws CLI over HTTP with
# SigV4, with the credentials file the server writes on first start.
# usage: tests/e2e/api_aws_cli.sh path/to/stageline
set -uo pipefail
BIN=$(realpath "$1")
cd "$(dirname "$0")/../.."
TMP=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
server=""
stop_server() { [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null; server=""; }
trap 'stop_server; rm -rf "$TMP"' EXIT
fails=0 passes=0
ok() { passes=$((passes + 1)); }
bad() { echo "FAIL $1"; sed 's/^/    /' "$TMP/out" | head -30; fails=$((fails + 1)); }

start_server() {
  "$BIN" server --data-dir "$TMP/data" --listen "127.0.0.1:$PORT" >"$TMP/server.out" 2>"$TMP/server.err" &
  server=$!
  for _ in $(seq 1 100); do grep -q "listening" "$TMP/server.out" 2>/dev/null && return 0; sleep 0.1; done
  echo "server did not start"; cat "$TMP/server.err"; exit 1
}
export AWS_SHARED_CREDENTIALS_FILE="$TMP/data/credentials" AWS_CONFIG_FILE=/dev/null
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE
cp() { aws codepipeline "$@" --endpoint-url "http://127.0.0.1:$PORT" --region us-east-1; }
json() { python3 -c "import json,sys; d=json.load(open('$TMP/out')); print($1)"; }

start_server
# 1. First start: a 0600 credentials file the aws CLI reads; an empty account.
[ "$(stat -c %a "$TMP/data/credentials")" = 600 ] && ok || bad "credentials file is 0600"
cp list-pipelines >"$TMP/out" 2>&1 && [ "$(json 'len(d["pipelines"])')" = 0 ] && ok ||
  bad "list-pipelines on a new server"

# 2. A wrong secret or an unknown key is refused with AWS's error types.
AWS_ACCESS_KEY_ID=$(awk '/aws_access_key_id/ {print $3}' "$TMP/data/credentials") \
  AWS_SECRET_ACCESS_KEY=wrongwrongwrongwrongwrongwrongwrongwrong \
  aws codepipeline list-pipelines --endpoint-url "http://127.0.0.1:$PORT" --region us-east-1 >"$TMP/out" 2>&1
grep -q "InvalidSignatureException" "$TMP/out" && ok || bad "a wrong secret is InvalidSignatureException"
AWS_ACCESS_KEY_ID=AKIAAAAAAAAAAAAAAAAA AWS_SECRET_ACCESS_KEY=x \
  aws codepipeline list-pipelines --endpoint-url "http://127.0.0.1:$PORT" --region us-east-1 >"$TMP/out" 2>&1
grep -q "UnrecognizedClientException" "$TMP/out" && ok || bad "an unknown key is UnrecognizedClientException"

# 3. Create, get, list: the declaration round-trips; creating starts an execution.
cp create-pipeline --pipeline file://examples/v2-pipeline.json >"$TMP/out" 2>&1
[ $? -eq 0 ] && [ "$(json 'd["pipeline"]["version"]')" = 1 ] && ok || bad "create-pipeline"
cp create-pipeline --pipeline file://examples/v2-pipeline.json >"$TMP/out" 2>&1
grep -q "PipelineNameInUseException" "$TMP/out" && ok || bad "a second create is PipelineNameInUseException"
cp get-pipeline --name corpus-app >"$TMP/out" 2>&1
[ "$(json 'd["pipeline"]["stages"][1]["name"]')" = Build ] &&
  [ "$(json 'd["metadata"]["pipelineArn"]')" = "arn:aws:codepipeline:us-east-1:111122223333:corpus-app" ] &&
  ok || bad "get-pipeline"
cp get-pipeline --name nope >"$TMP/out" 2>&1
grep -q "PipelineNotFoundException" "$TMP/out" && ok || bad "get-pipeline of a missing pipeline"

# 4. An invalid definition is refused with the modeled exception.
python3 - "$TMP/bad.json" <<'PY'
import json, sys
d = json.load(open("examples/v2-pipeline.json"))
d["name"] = "bad"
d["stages"][1]["actions"][0]["inputArtifacts"][0]["name"] = "NoSuchArtifact"
json.dump(d, open(sys.argv[1], "w"))
PY
cp create-pipeline --pipeline "file://$TMP/bad.json" >"$TMP/out" 2>&1
grep -q "InvalidActionDeclarationException\|InvalidStructureException\|InvalidStageDeclarationException" "$TMP/out" &&
  ok || bad "an invalid pipeline is refused"

# 5. Executions: the source actions fail with a clear message (the
#    connection they name was never made); state, executions and action
#    executions.
for _ in $(seq 1 50); do
  cp list-pipeline-executions --pipeline-name corpus-app >"$TMP/out" 2>&1
  [ "$(json 'd["pipelineExecutionSummaries"][0]["status"]')" = Failed ] && break; sleep 0.1
done
[ "$(json 'd["pipelineExecutionSummaries"][0]["trigger"]["triggerType"]')" = CreatePipeline ] && ok ||
  bad "creating a pipeline starts an execution"
exec_id=$(json 'd["pipelineExecutionSummaries"][0]["pipelineExecutionId"]')
cp get-pipeline-state --name corpus-app >"$TMP/out" 2>&1
[ "$(json 'd["stageStates"][0]["actionStates"][0]["latestExecution"]["errorDetails"]["code"]')" = ConfigurationError ] &&
  ok || bad "get-pipeline-state shows the failed source action"
cp list-action-executions --pipeline-name corpus-app >"$TMP/out" 2>&1
[ "$(json 'len(d["actionExecutionDetails"])')" -ge 1 ] && ok || bad "list-action-executions"
cp start-pipeline-execution --name corpus-app --variables name=Nope,value=1 >"$TMP/out" 2>&1
grep -q "ValidationException" "$TMP/out" && ok || bad "an undeclared variable is refused"
cp stop-pipeline-execution --pipeline-name corpus-app --pipeline-execution-id "$exec_id" >"$TMP/out" 2>&1
grep -q "PipelineExecutionNotStoppableException" "$TMP/out" && ok || bad "a failed execution is not stoppable"
cp retry-stage-execution --pipeline-name corpus-app --stage-name Source \
  --pipeline-execution-id "$exec_id" --retry-mode FAILED_ACTIONS >"$TMP/out" 2>&1
[ "$(json 'd["pipelineExecutionId"]')" = "$exec_id" ] && ok || bad "retry-stage-execution"

# 5b. Live events: the event log as server-sent events, signed by botocore
#     (header or presigned URL), replayed from a sequence number.
python3 tests/e2e/sse_events.py "http://127.0.0.1:$PORT" "$TMP/data/credentials" "after=0" 5 >"$TMP/out" 2>&1
head -1 "$TMP/out" | grep -q " 200 " &&
  sed -n 2p "$TMP/out" | grep -q "^1 CodePipeline Pipeline Execution State Change STARTED" &&
  grep -q "CodePipeline Action Execution State Change FAILED Source" "$TMP/out" && ok ||
  bad "GET /events replays the execution's events in order"
python3 tests/e2e/sse_events.py "http://127.0.0.1:$PORT" "$TMP/data/credentials" \
  "after=2&pipeline=corpus-app" 1 presign >"$TMP/out" 2>&1
sed -n 2p "$TMP/out" | grep -q "^3 " && ok || bad "a presigned GET /events resumes after a sequence number"
python3 tests/e2e/sse_events.py "http://127.0.0.1:$PORT" "$TMP/data/credentials" "after=x" 1 >"$TMP/out" 2>&1
grep -q "400" "$TMP/out" && grep -q ValidationException "$TMP/out" && ok || bad "a bad sequence number is refused"
curl -s -o "$TMP/out" -w "%{http_code}" "http://127.0.0.1:$PORT/events" >"$TMP/code" 2>/dev/null
[ "$(cat "$TMP/code")" = 403 ] && grep -q MissingAuthenticationTokenException "$TMP/out" && ok ||
  bad "an unsigned GET /events is refused"

# 6. Transitions keep their reason and who changed them.
cp disable-stage-transition --pipeline-name corpus-app --stage-name Build \
  --transition-type Inbound --reason "release freeze" >"$TMP/out" 2>&1
cp get-pipeline-state --name corpus-app >"$TMP/out" 2>&1
[ "$(json 'd["stageStates"][1]["inboundTransitionState"]["disabledReason"]')" = "release freeze" ] &&
  [ "$(json 'd["stageStates"][1]["inboundTransitionState"]["lastChangedBy"]')" = "arn:aws:iam::111122223333:user/admin" ] &&
  ok || bad "disable-stage-transition is shown with reason and who"

# 7. A restart keeps everything: the key, the pipeline, the disabled transition.
stop_server
start_server
cp get-pipeline-state --name corpus-app >"$TMP/out" 2>&1
[ "$(json 'd["stageStates"][1]["inboundTransitionState"]["enabled"]')" = False ] && ok ||
  bad "the transition stays disabled after a restart"

# 8. Update makes version 2; delete removes the pipeline.
cp get-pipeline --name corpus-app --query pipeline >"$TMP/decl.json" 2>&1
cp update-pipeline --pipeline "file://$TMP/decl.json" >"$TMP/out" 2>&1
[ "$(json 'd["pipeline"]["version"]')" = 2 ] && ok || bad "update-pipeline makes version 2"
cp delete-pipeline --name corpus-app >"$TMP/out" 2>&1 && cp list-pipelines >"$TMP/out" 2>&1 &&
  [ "$(json 'len(d["pipelines"])')" = 0 ] && ok || bad "delete-pipeline"

# 9. Keys made with `stageline keys` work at once; disabled ones do not.
"$BIN" keys create alice --data-dir "$TMP/data" >"$TMP/alice" 2>&1
id=$(awk '/aws_access_key_id/ {print $3}' "$TMP/alice")
secret=$(awk '/aws_secret_access_key/ {print $3}' "$TMP/alice")
AWS_ACCESS_KEY_ID=$id AWS_SECRET_ACCESS_KEY=$secret \
  aws codepipeline list-pipelines --endpoint-url "http://127.0.0.1:$PORT" --region us-east-1 >"$TMP/out" 2>&1 &&
  ok || bad "a key made by stageline keys create works"
"$BIN" keys disable "$id" --data-dir "$TMP/data" >"$TMP/out" 2>&1
AWS_ACCESS_KEY_ID=$id AWS_SECRET_ACCESS_KEY=$secret \
  aws codepipeline list-pipelines --endpoint-url "http://127.0.0.1:$PORT" --region us-east-1 >"$TMP/out" 2>&1
[ $? -ne 0 ] && ok || bad "a disabled key is refused"

# 9b. Registered third-party action types (docs/api.md): `stageline
#     action-types register`, then the API's GetActionType, ListActionTypes
#     and UpdateActionType; a partner's job worker runs a pipeline of them
#     with the third-party job calls; PutActionRevision and
#     ListDeployActionExecutionTargets.
partner_type() {  # category provider minIn maxIn minOut maxOut description
  cat <<JSON
{"executor": {"configuration": {"jobWorkerExecutorConfiguration": {}}, "type": "JobWorker"},
 "id": {"category": "$1", "owner": "ThirdParty", "provider": "$2", "version": "1"},
 "inputArtifactDetails": {"minimumCount": $3, "maximumCount": $4},
 "outputArtifactDetails": {"minimumCount": $5, "maximumCount": $6},
 "properties": [{"name": "Project", "optional": false, "key": true, "noEcho": false}],
 "description": "$7"}
JSON
}
partner_type Source PartnerRepo 0 0 1 1 "A partner's repository" >"$TMP/repo-type.json"
partner_type Test Scanner 1 1 0 0 "Scans the code" >"$TMP/scan-type.json"
at() { "$BIN" action-types "$@" --data-dir "$TMP/data"; }
at register "$TMP/repo-type.json" >"$TMP/out" 2>&1 && at register "$TMP/scan-type.json" >"$TMP/out" 2>&1 &&
  [ "$(json 'd["actionType"]["id"]["provider"]')" = Scanner ] && ok || bad "stageline action-types register"
at register "$TMP/scan-type.json" >"$TMP/out" 2>&1
[ $? -eq 255 ] && grep -q "already registered" "$TMP/out" && ok || bad "registering twice is refused"
at list >"$TMP/out" 2>&1 && [ "$(json 'len(d["actionTypes"])')" = 2 ] && ok || bad "stageline action-types list"
cp get-action-type --category Test --owner ThirdParty --provider Scanner --action-version 1 >"$TMP/out" 2>&1
[ "$(json 'd["actionType"]["description"]')" = "Scans the code" ] && ok || bad "get-action-type of a registered type"
cp list-action-types --action-owner-filter ThirdParty >"$TMP/out" 2>&1
json '[t["id"]["provider"] for t in d["actionTypes"]]' | grep -q "'Scanner'" && ok ||
  bad "list-action-types shows a registered type"
partner_type Test Scanner 1 1 0 0 "Scans it all" >"$TMP/scan-type.json"
cp update-action-type --action-type "file://$TMP/scan-type.json" >"$TMP/out" 2>&1 &&
  cp get-action-type --category Test --owner ThirdParty --provider Scanner --action-version 1 >"$TMP/out" 2>&1 &&
  [ "$(json 'd["actionType"]["description"]')" = "Scans it all" ] && ok || bad "update-action-type of a registered type"
cp update-action-type --action-type "$(partner_type Test Nope 0 0 0 0 x)" >"$TMP/out" 2>&1
grep -q ActionTypeNotFoundException "$TMP/out" && ok || bad "update-action-type of an unknown type"

cat >"$TMP/partner.json" <<'JSON'
{"name": "partner", "roleArn": "arn:aws:iam::111122223333:role/R",
 "artifactStore": {"type": "S3", "location": "artifacts"},
 "stages": [
  {"name": "Source", "actions": [{"name": "Repo",
    "actionTypeId": {"category": "Source", "owner": "ThirdParty", "provider": "PartnerRepo", "version": "1"},
    "configuration": {"Project": "demo"}, "outputArtifacts": [{"name": "Code"}]}]},
  {"name": "Test", "actions": [{"name": "Scan",
    "actionTypeId": {"category": "Test", "owner": "ThirdParty", "provider": "Scanner", "version": "1"},
    "configuration": {"Project": "demo"}, "inputArtifacts": [{"name": "Code"}]}]}]}
JSON
cp create-pipeline --pipeline "file://$TMP/partner.json" >"$TMP/out" 2>&1 && ok || bad "a pipeline of registered types"
# The partner's worker: poll, read with the clientId, acknowledge, report.
work() {  # category provider -> prints "jobId clientId nonce", acknowledged
  local polled job client nonce
  for _ in $(seq 1 50); do
    cp poll-for-third-party-jobs --action-type-id "category=$1,owner=ThirdParty,provider=$2,version=1" \
      >"$TMP/out" 2>&1
    [ "$(json 'len(d["jobs"])')" = 1 ] && break; sleep 0.1
  done
  job=$(json 'd["jobs"][0]["jobId"]') client=$(json 'd["jobs"][0]["clientId"]')
  cp get-third-party-job-details --job-id "$job" --client-token "$client" >"$TMP/out" 2>&1 || return 1
  nonce=$(json 'd["jobDetails"]["nonce"]')
  cp acknowledge-third-party-job --job-id "$job" --nonce "$nonce" --client-token "$client" >"$TMP/out" 2>&1 || return 1
  echo "$job $client"
}
read -r job client <<<"$(work Source PartnerRepo)"
cp get-third-party-job-details --job-id "$job" --client-token 00000000-0000-4000-8000-000000000000 >"$TMP/out" 2>&1
grep -q InvalidClientTokenException "$TMP/out" && ok || bad "a wrong client token is InvalidClientTokenException"
cp get-third-party-job-details --job-id "$job" --client-token "$client" >"$TMP/out" 2>&1
[ "$(json 'd["jobDetails"]["data"]["pipelineContext"]["action"]["name"]')" = Repo ] &&
  [ "$(json '"pipelineArn" in d["jobDetails"]["data"]["pipelineContext"]')" = False ] && ok ||
  bad "get-third-party-job-details"
cp put-third-party-job-success-result --job-id "$job" --client-token "$client" \
  --execution-details summary=fetched,externalExecutionId=r-1 >"$TMP/out" 2>&1 && ok ||
  bad "put-third-party-job-success-result"
read -r job client <<<"$(work Test Scanner)"
cp put-third-party-job-failure-result --job-id "$job" --client-token "$client" \
  --failure-details type=JobFailed,message="2 findings" >"$TMP/out" 2>&1 && ok ||
  bad "put-third-party-job-failure-result"
for _ in $(seq 1 50); do
  cp list-pipeline-executions --pipeline-name partner >"$TMP/out" 2>&1
  [ "$(json 'd["pipelineExecutionSummaries"][0]["status"]')" = Failed ] && break; sleep 0.1
done
cp get-pipeline-state --name partner >"$TMP/out" 2>&1
[ "$(json 'd["stageStates"][0]["actionStates"][0]["latestExecution"]["status"]')" = Succeeded ] &&
  [ "$(json 'd["stageStates"][1]["actionStates"][0]["latestExecution"]["errorDetails"]["message"]')" = "2 findings" ] &&
  ok || bad "the partner's results end the actions"
partner_exec=$(python3 -c "import json; print(json.load(open('$TMP/out'))['stageStates'][1]['latestExecution']['pipelineExecutionId'])")

cp put-action-revision --pipeline-name partner --stage-name Source --action-name Repo \
  --action-revision revisionId=r-2,revisionChangeId=c-2,created=2026-01-01T00:00:00Z >"$TMP/out" 2>&1
grep -q ValidationException "$TMP/out" && ok || bad "put-action-revision refuses a source it cannot pin"
python3 - "$TMP/s3.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1].replace("s3.json", "partner.json")))
d["name"] = "bucket-fed"
d["stages"][0]["actions"][0] = {"name": "Fetch",
    "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
    "configuration": {"S3Bucket": "drops", "S3ObjectKey": "app.zip"}, "outputArtifacts": [{"name": "Code"}]}
json.dump(d, open(sys.argv[1], "w"))
PY
cp create-pipeline --pipeline "file://$TMP/s3.json" >"$TMP/out" 2>&1
revision() {
  cp put-action-revision --pipeline-name bucket-fed --stage-name Source --action-name "${1:-Fetch}" \
    --action-revision revisionId=v-7,revisionChangeId=c-7,created=2026-01-01T00:00:00Z >"$TMP/out" 2>&1
}
revision && [ "$(json 'd["newRevision"]')" = True ] && ok || bad "put-action-revision of a new revision"
rev_exec=$(json 'd["pipelineExecutionId"]')
cp get-pipeline-execution --pipeline-name bucket-fed --pipeline-execution-id "$rev_exec" >"$TMP/out" 2>&1
[ "$(json 'd["pipelineExecution"]["trigger"]["triggerType"]')" = PutActionRevision ] && ok ||
  bad "put-action-revision starts an execution triggered by PutActionRevision"
revision && [ "$(json 'd["newRevision"]')" = False ] && [ "$(json 'd["pipelineExecutionId"]')" = "$rev_exec" ] &&
  ok || bad "put-action-revision of a revision already used starts nothing"
revision Nope; grep -q ActionNotFoundException "$TMP/out" && ok || bad "put-action-revision of an unknown action"

cp list-action-executions --pipeline-name partner \
  --filter "pipelineExecutionId=$partner_exec" >"$TMP/out" 2>&1
action_exec=$(json 'd["actionExecutionDetails"][0]["actionExecutionId"]')
cp list-deploy-action-execution-targets --pipeline-name partner --action-execution-id "$action_exec" >"$TMP/out" 2>&1 &&
  [ "$(json 'd["targets"]')" = "[]" ] && ok || bad "list-deploy-action-execution-targets answers no targets"
cp list-deploy-action-execution-targets --action-execution-id nope >"$TMP/out" 2>&1
grep -q ActionExecutionNotFoundException "$TMP/out" && ok ||
  bad "list-deploy-action-execution-targets of an unknown action execution"

# 9c. V1 webhooks: put-webhook, list-webhooks, a GitHub-style delivery
#     (HMAC-signed, filtered) starts an execution; delete-webhook.
cat >"$TMP/webhook.json" <<'JSON'
{"name": "drops-push", "targetPipeline": "bucket-fed", "targetAction": "Fetch",
 "filters": [{"jsonPath": "$.ref", "matchEquals": "refs/heads/{S3Bucket}"}],
 "authentication": "GITHUB_HMAC", "authenticationConfiguration": {"SecretToken": "s3cret"}}
JSON
cp put-webhook --webhook "file://$TMP/webhook.json" >"$TMP/out" 2>&1 &&
  [ "$(json 'd["webhook"]["definition"]["authenticationConfiguration"]["SecretToken"]')" = "****" ] &&
  ok || bad "put-webhook"
url=$(json 'd["webhook"]["url"]')
case "$url" in "http://127.0.0.1:$PORT/webhooks/"*) ok ;; *) bad "the webhook URL is this server's ($url)" ;; esac
cp list-webhooks >"$TMP/out" 2>&1 && [ "$(json 'd["webhooks"][0]["arn"]')" = \
  "arn:aws:codepipeline:us-east-1:111122223333:webhook:drops-push" ] && ok || bad "list-webhooks"
deliver() {  # body secret
  local sig
  sig=$(python3 -c 'import hmac, sys; print(hmac.new(sys.argv[2].encode(), sys.argv[1].encode(), "sha256").hexdigest())' "$1" "$2")
  curl -s -o "$TMP/out" -w "%{http_code}" -X POST -H "Content-Type: application/json" \
    -H "X-GitHub-Event: push" -H "X-Hub-Signature-256: sha256=$sig" --data-binary "$1" "$url"
}
[ "$(deliver '{"ref": "refs/heads/drops"}' wrong)" = 403 ] && ok || bad "a delivery with a wrong signature is 403"
[ "$(deliver '{"ref": "refs/heads/other"}' s3cret)" = 200 ] && [ "$(json 'd["started"]')" = False ] && ok ||
  bad "a delivery whose filter does not match starts nothing"
[ "$(deliver '{"ref": "refs/heads/drops"}' s3cret)" = 200 ] && [ "$(json 'd["started"]')" = True ] && ok ||
  bad "a signed, matching delivery starts an execution"
hook_exec=$(json 'd["pipelineExecutionId"]')
cp get-pipeline-execution --pipeline-name bucket-fed --pipeline-execution-id "$hook_exec" >"$TMP/out" 2>&1
[ "$(json 'd["pipelineExecution"]["trigger"]["triggerType"]')" = Webhook ] && ok ||
  bad "the webhook's execution is triggered by Webhook"
cp register-webhook-with-third-party --webhook-name drops-push >"$TMP/out" 2>&1 && ok ||
  bad "register-webhook-with-third-party"
cp delete-webhook --name drops-push >"$TMP/out" 2>&1 &&
  [ "$(deliver '{"ref": "refs/heads/drops"}' s3cret)" = 404 ] && ok || bad "a deleted webhook's URL is 404"
cp deregister-webhook-with-third-party --webhook-name drops-push >"$TMP/out" 2>&1
grep -q WebhookNotFoundException "$TMP/out" && ok || bad "deregister of a deleted webhook"

# 10. SIGTERM stops the server cleanly.
kill -TERM "$server"; wait "$server"; rc=$?; server=""
[ "$rc" -eq 0 ] && ok || bad "SIGTERM exits 0 (got $rc)"

echo "api e2e (aws CLI): $passes passed, $fails failed"
[ "$fails" -eq 0 ]
