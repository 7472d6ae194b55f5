#!/usr/bin/env bash
# End-to-end: the native client verbs of `stageline` (get-pipeline, ...),
# `stageline watch` and `stageline aws` against a real `stageline server`,
# with outputs and errors compared byte for byte with the aws CLI's for the
# same calls.
# usage: tests/e2e/cli_client.sh path/to/stageline
set -uo pipefail
BIN=$(realpath "$1")
cd "$(dirname "$0")/../.."
TMP=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
server=""
stop_server() { [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null; server=""; }
trap 'stop_server; rm -rf "$TMP"' EXIT
fails=0 passes=0
ok() { passes=$((passes + 1)); }
bad() {
  echo "FAIL $1"
  for f in out err aws.out aws.err; do
    [ -s "$TMP/$f" ] && { echo "  --- $f"; sed 's/^/    /' "$TMP/$f" | head -20; }
  done
  fails=$((fails + 1))
}

start_server() {
  "$BIN" server --data-dir "$TMP/data" --listen "127.0.0.1:$PORT" >"$TMP/server.out" 2>"$TMP/server.err" &
  server=$!
  for _ in $(seq 1 100); do grep -q "listening" "$TMP/server.out" 2>/dev/null && return 0; sleep 0.1; done
  echo "server did not start"; cat "$TMP/server.err"; exit 1
}
# Neither client may pick up the caller's own AWS settings.
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE \
  AWS_SHARED_CREDENTIALS_FILE AWS_REGION AWS_DEFAULT_REGION
export AWS_CONFIG_FILE=/dev/null
# stageline finds the endpoint, region and key through the data directory only.
sl() { "$BIN" "$@" --data-dir "$TMP/data" >"$TMP/out" 2>"$TMP/err"; }
# The same call with the aws CLI, told everything explicitly.
awsx() {
  AWS_SHARED_CREDENTIALS_FILE="$TMP/data/credentials" aws codepipeline "$@" \
    --endpoint-url "http://127.0.0.1:$PORT" --region us-east-1 >"$TMP/aws.out" 2>"$TMP/aws.err"
}
json() { python3 -c "import json,sys; d=json.load(open('$TMP/out')); print($1)"; }
# Runs VERB ARGS with both and checks stdout, stderr and the exit code are identical.
same() {
  local what="$1"; shift
  sl "$@"; local rc=$?
  awsx "$@"; local arc=$?
  if [ "$rc" -eq "$arc" ] && cmp -s "$TMP/out" "$TMP/aws.out" && cmp -s "$TMP/err" "$TMP/aws.err"; then
    ok
  else
    echo "  (stageline exit $rc, aws exit $arc)"; diff "$TMP/out" "$TMP/aws.out" | head -10
    bad "$what: same output, errors and exit code as the aws CLI"
  fi
}

start_server

# 1. A new server: list-pipelines finds the server through DATA_DIR/server.json.
same "list-pipelines on a new server" list-pipelines
[ "$(cat "$TMP/out")" = '{
    "pipelines": []
}' ] && ok || bad "list-pipelines prints an empty list"

# 2. Create, then get and list, byte for byte.
sl create-pipeline --pipeline file://examples/v2-pipeline.json
[ $? -eq 0 ] && [ "$(json 'd["pipeline"]["version"]')" = 1 ] && ok || bad "create-pipeline"
same "get-pipeline" get-pipeline --name corpus-app
same "list-pipelines" list-pipelines
same "get-pipeline of a missing pipeline" get-pipeline --name nope
grep -q "^An error occurred (PipelineNotFoundException) when calling the GetPipeline operation: " "$TMP/err" &&
  [ "$(sl get-pipeline --name nope; echo $?)" = 255 ] && ok || bad "a service error exits 255 with the aws CLI's message"
same "create-pipeline of an existing name" create-pipeline --pipeline file://examples/v2-pipeline.json

# 3. Usage errors: exit 2 and a message naming the flags.
sl get-pipeline
[ $? -eq 2 ] && grep -q "the following arguments are required: --name" "$TMP/err" && ok ||
  bad "a missing required flag exits 2"
sl get-pipeline --nme x
[ $? -eq 2 ] && grep -q "did you mean --name" "$TMP/err" && ok || bad "an unknown flag suggests the closest"

# 4. Start an execution and watch it: the source action fails (source
#    providers come with issue #5), so watch exits 1 with the reason.
sl start-pipeline-execution --name corpus-app --variables name=Nope,value=1
[ $? -eq 255 ] && grep -q "ValidationException" "$TMP/err" && ok || bad "an undeclared variable is refused"
sl start-pipeline-execution --name corpus-app
exec_id=$(json 'd["pipelineExecutionId"]')
[ -n "$exec_id" ] && ok || bad "start-pipeline-execution prints the execution id"
timeout 60 "$BIN" watch "$exec_id" --pipeline-name corpus-app --data-dir "$TMP/data" >"$TMP/out" 2>"$TMP/err"
rc=$?
[ "$rc" -eq 1 ] && grep -q "^Execution $exec_id Failed" "$TMP/out" &&
  grep -q "Source\..*Failed after .*ConfigurationError" "$TMP/out" && ok ||
  bad "watch follows the execution to its failure and exits 1 (exit $rc)"
timeout 60 "$BIN" watch "$exec_id" --data-dir "$TMP/data" >"$TMP/out" 2>"$TMP/err"
[ $? -eq 1 ] && grep -q "of pipeline corpus-app" "$TMP/out" && ok ||
  bad "watch finds the pipeline of an execution by itself"
timeout 60 "$BIN" watch 00000000-0000-4000-8000-000000000000 --pipeline-name corpus-app --data-dir "$TMP/data" >"$TMP/out" 2>"$TMP/err"
[ $? -eq 255 ] && grep -q "PipelineExecutionNotFoundException" "$TMP/err" && ok ||
  bad "watch of an unknown execution says so"

# 5. The execution's records, byte for byte.
same "get-pipeline-state" get-pipeline-state --name corpus-app
same "get-pipeline-execution" get-pipeline-execution --pipeline-name corpus-app --pipeline-execution-id "$exec_id"
same "list-pipeline-executions" list-pipeline-executions --pipeline-name corpus-app
same "list-pipeline-executions --max-items 1" list-pipeline-executions --pipeline-name corpus-app --max-items 1
token=$(python3 -c "import json; print(json.load(open('$TMP/out'))['NextToken'])")
same "list-pipeline-executions --starting-token" list-pipeline-executions --pipeline-name corpus-app --starting-token "$token"
same "list-action-executions of one execution" list-action-executions --pipeline-name corpus-app \
  --filter "pipelineExecutionId=$exec_id"
same "stop-pipeline-execution of a failed execution" stop-pipeline-execution --pipeline-name corpus-app \
  --pipeline-execution-id "$exec_id" --abandon --reason "no longer needed"

# 6. Transitions.
sl disable-stage-transition --pipeline-name corpus-app --stage-name Build --transition-type Inbound \
  --reason "release freeze"
[ $? -eq 0 ] && [ ! -s "$TMP/out" ] && ok || bad "disable-stage-transition prints nothing"
sl get-pipeline-state --name corpus-app
[ "$(json 'd["stageStates"][1]["inboundTransitionState"]["disabledReason"]')" = "release freeze" ] && ok ||
  bad "the transition is disabled with its reason"
same "disable-stage-transition of a missing stage" disable-stage-transition --pipeline-name corpus-app \
  --stage-name Nope --transition-type Inbound --reason x
sl enable-stage-transition --pipeline-name corpus-app --stage-name Build --transition-type Inbound
sl get-pipeline-state --name corpus-app
[ "$(json 'd["stageStates"][1]["inboundTransitionState"]["enabled"]')" = True ] && ok ||
  bad "enable-stage-transition enables it again"

# 7. Retry, approval errors, update.
sl retry-stage-execution --pipeline-name corpus-app --stage-name Source --pipeline-execution-id "$exec_id" \
  --retry-mode FAILED_ACTIONS
[ "$(json 'd["pipelineExecutionId"]')" = "$exec_id" ] && ok || bad "retry-stage-execution"
same "put-approval-result with a wrong token" put-approval-result --pipeline-name corpus-app \
  --stage-name Build --action-name Nope --result summary=ok,status=Approved --token 00000000-0000-0000-0000-000000000000
sl get-pipeline --name corpus-app
python3 -c "import json; json.dump(json.load(open('$TMP/out'))['pipeline'], open('$TMP/decl.json', 'w'))"
sl update-pipeline --pipeline "file://$TMP/decl.json"
[ "$(json 'd["pipeline"]["version"]')" = 2 ] && ok || bad "update-pipeline makes version 2"
same "get-pipeline of version 1" get-pipeline --name corpus-app --pipeline-version 1

# 8. stageline aws: the installed aws CLI with the local server filled in.
sl list-pipelines; cp "$TMP/out" "$TMP/native.out"
"$BIN" aws codepipeline list-pipelines --data-dir "$TMP/data" >"$TMP/out" 2>"$TMP/err"
[ $? -eq 0 ] && cmp -s "$TMP/out" "$TMP/native.out" && ok || bad "stageline aws codepipeline list-pipelines"
AWS_ACCESS_KEY_ID=AKIAWRONGWRONGWRONG0 AWS_SECRET_ACCESS_KEY=x \
  "$BIN" aws codepipeline list-action-types --action-owner-filter AWS --data-dir "$TMP/data" >"$TMP/out" 2>"$TMP/err"
[ $? -eq 0 ] && grep -q '"actionTypes"' "$TMP/out" && ok ||
  bad "stageline aws reaches operations without a native verb, ignoring other keys in the environment"
PATH=/nonexistent "$BIN" aws codepipeline list-pipelines --data-dir "$TMP/data" >"$TMP/out" 2>"$TMP/err"
[ $? -eq 127 ] && grep -q "aws CLI is not installed" "$TMP/err" && ok || bad "stageline aws without aws installed"

# 9. Delete; then a server that is not there.
sl delete-pipeline --name corpus-app
[ $? -eq 0 ] && [ ! -s "$TMP/out" ] && ok || bad "delete-pipeline prints nothing"
same "list-pipelines after delete" list-pipelines
stop_server
"$BIN" list-pipelines --data-dir "$TMP/data" --endpoint-url "http://127.0.0.1:$PORT" >"$TMP/out" 2>"$TMP/err"
[ $? -eq 255 ] && grep -q "no Stageline server at 127.0.0.1:$PORT: connection refused; start one with \`stageline server\`" "$TMP/err" &&
  ok || bad "a stopped server is reported clearly"

# 10. stageline logs: the output `stageline run` stored in a data directory,
#     read through a server started on that directory.
"$BIN" run examples/run-locally.yaml --source App=examples/hello --data-dir "$TMP/data" >"$TMP/run.out" 2>&1
run_id=$(sed -n 's/^Execution \([0-9a-f-]*\) of pipeline.*/\1/p' "$TMP/run.out")
start_server
sl logs "$run_id" --pipeline-name run-locally
[ $? -eq 0 ] && grep -q "^Build/Compile | hello from execution $run_id" "$TMP/out" &&
  grep -q "^Test/Smoke | tested version 1.0.2" "$TMP/out" && ok || bad "stageline logs prints each action's output"
sl logs "$run_id" --pipeline-name run-locally --action Smoke --follow
[ $? -eq 0 ] && [ "$(wc -l <"$TMP/out")" -eq 2 ] && ok || bad "stageline logs --action --follow ends with the execution"
sl logs nope --pipeline-name run-locally
[ $? -eq 255 ] && ok || bad "stageline logs of an unknown execution fails"
stop_server

echo "cli client e2e: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
