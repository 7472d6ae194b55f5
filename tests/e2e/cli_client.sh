#!/usr/bin/env bash
# End-to-end: the native client verbs of `stageline` (get-pipeline, ...),
# `stageline watch` and `stageline aws` against a real `stageline server`,
# with outputs and errors compared byte for byte with the aws CLI's for the
# same calls. `stageline watch` follows running executions through the
# server's event stream, with a job worker written with botocore (a real SDK)
# completing custom actions, across a server restart.
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
  # A restart must not find the previous server's "listening" line: the
  # background shell truncates server.out only when it gets to run.
  rm -f "$TMP/server.out"
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

# 4. Start an execution and watch it: the source action fails (its
#    connection was never made), so watch exits 1 with the reason.
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

# 11. stageline watch on the event stream: executions that are running when
#     watch starts, held by a job worker (botocore) until the test lets go.
start_server
cat >"$TMP/worker.py" <<'PY'
import configparser, os, sys, time
import botocore.session
from botocore.config import Config
endpoint, tmp = sys.argv[1], sys.argv[2]
ini = configparser.ConfigParser()
ini.read(os.path.join(tmp, "data", "credentials"))
client = botocore.session.get_session().create_client(
    "codepipeline", endpoint_url=endpoint, region_name="us-east-1",
    aws_access_key_id=ini["default"]["aws_access_key_id"],
    aws_secret_access_key=ini["default"]["aws_secret_access_key"],
    config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=2, read_timeout=10))
types = [dict(category=c, owner="Custom", provider=p, version="1")
         for c, p in (("Source", "WatchSource"), ("Build", "WatchBuild"))]
stop = os.path.join(tmp, "worker.stop")
while not os.path.exists(stop):
    for t in types:
        try:
            jobs = client.poll_for_jobs(actionTypeId=t, maxBatchSize=5)["jobs"]
        except Exception:
            time.sleep(0.2)
            continue
        for job in jobs:
            try:
                client.acknowledge_job(jobId=job["id"], nonce=job["nonce"])
                config = job["data"]["actionConfiguration"]["configuration"]
                if t["category"] == "Source":
                    client.put_job_success_result(jobId=job["id"], executionDetails={"summary": "fetched"})
                    continue
                hold = os.path.join(tmp, "hold-" + config.get("Hold", "none"))
                while os.path.exists(hold) and not os.path.exists(stop):
                    time.sleep(0.1)
                if config.get("Result") == "fail":
                    client.put_job_failure_result(jobId=job["id"], failureDetails={
                        "type": "JobFailed", "message": "make: 3 tests failed"})
                else:
                    client.put_job_success_result(jobId=job["id"], executionDetails={"summary": "built"})
            except Exception as e:  # e.g. a job the server failed while it restarted
                print("worker:", e, file=sys.stderr, flush=True)
    time.sleep(0.1)
PY
python3 "$TMP/worker.py" "http://127.0.0.1:$PORT" "$TMP" 2>"$TMP/worker.err" &
worker=$!
awsx create-custom-action-type --category Source --provider WatchSource --action-version 1 \
  --input-artifact-details minimumCount=0,maximumCount=0 --output-artifact-details minimumCount=1,maximumCount=1
awsx create-custom-action-type --category Build --provider WatchBuild --action-version 1 \
  --input-artifact-details minimumCount=1,maximumCount=1 --output-artifact-details minimumCount=0,maximumCount=0 \
  --configuration-properties '[{"name":"Result","required":true,"key":true,"secret":false},{"name":"Hold","required":false,"key":false,"secret":false}]'
[ $? -eq 0 ] && ok || bad "create the custom action types the worker serves"
# Creates pipeline $1 (its build action's Result $2, held by hold-$3) and
# prints the execution its creation started.
watched_pipeline() {
  cat >"$TMP/$1.json" <<JSON
{"name": "$1", "roleArn": "arn:aws:iam::111122223333:role/PipelineRole",
 "artifactStore": {"type": "S3", "location": "watch-artifacts"},
 "stages": [
  {"name": "Source", "actions": [{"name": "Fetch", "outputArtifacts": [{"name": "Src"}],
    "actionTypeId": {"category": "Source", "owner": "Custom", "provider": "WatchSource", "version": "1"}}]},
  {"name": "Build", "actions": [{"name": "Make", "inputArtifacts": [{"name": "Src"}],
    "configuration": {"Result": "$2", "Hold": "$3"},
    "actionTypeId": {"category": "Build", "owner": "Custom", "provider": "WatchBuild", "version": "1"}}]}]}
JSON
  touch "$TMP/hold-$3"
  sl create-pipeline --pipeline "file://$TMP/$1.json" || { echo "create $1 failed: $(cat "$TMP/err")" >&2; return; }
  sl list-pipeline-executions --pipeline-name "$1"
  json 'd["pipelineExecutionSummaries"][0]["pipelineExecutionId"]'
}
# Waits (at most 30 s) until file $1 has a line matching $2.
wait_for_line() { for _ in $(seq 1 300); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }

ok_id=$(watched_pipeline watch-ok ok ok)
timeout 90 "$BIN" watch "$ok_id" --pipeline-name watch-ok --data-dir "$TMP/data" >"$TMP/w-ok.out" 2>"$TMP/w-ok.err" &
watcher=$!
wait_for_line "$TMP/w-ok.out" "Build.Make *InProgress" && ok || bad "watch shows the running build action (watch-ok)"
rm -f "$TMP/hold-ok"
wait "$watcher"; rc=$?
cp "$TMP/w-ok.out" "$TMP/out"; cp "$TMP/w-ok.err" "$TMP/err"
[ "$rc" -eq 0 ] && grep -q "^Execution $ok_id of pipeline watch-ok: InProgress" "$TMP/out" &&
  grep -q "^  Source  *Succeeded" "$TMP/out" && grep -q "^    Build.Make  *Succeeded after .*: built" "$TMP/out" &&
  grep -q "^  Build  *Succeeded" "$TMP/out" && grep -q "^Execution $ok_id Succeeded" "$TMP/out" &&
  ! grep -q "polling" "$TMP/err" && ok ||
  bad "watch follows a running execution on the event stream to its success and exits 0 (exit $rc)"

bad_id=$(watched_pipeline watch-bad fail bad)
timeout 90 "$BIN" watch "$bad_id" --data-dir "$TMP/data" >"$TMP/w-bad.out" 2>"$TMP/w-bad.err" &
watcher=$!
wait_for_line "$TMP/w-bad.out" "Build.Make *InProgress"
rm -f "$TMP/hold-bad"
wait "$watcher"; rc=$?
cp "$TMP/w-bad.out" "$TMP/out"; cp "$TMP/w-bad.err" "$TMP/err"
[ "$rc" -eq 1 ] && grep -q "^    Build.Make  *Failed after .*3 tests failed" "$TMP/out" &&
  grep -q "^Execution $bad_id Failed" "$TMP/out" && ok ||
  bad "watch of an execution whose build fails exits 1 with the worker's message (exit $rc)"

# A server restart while the build runs: the stream drops, watch reconnects
# with Last-Event-ID, and the restarted server's new attempt of the action
# (the first one counts as interrupted) succeeds.
restart_id=$(watched_pipeline watch-restart ok restart)
timeout 120 "$BIN" watch "$restart_id" --pipeline-name watch-restart --data-dir "$TMP/data" \
  >"$TMP/w-restart.out" 2>"$TMP/w-restart.err" &
watcher=$!
wait_for_line "$TMP/w-restart.out" "Build.Make *InProgress"
stop_server
start_server
rm -f "$TMP/hold-restart"
wait "$watcher"; rc=$?
cp "$TMP/w-restart.out" "$TMP/out"; cp "$TMP/w-restart.err" "$TMP/err"
[ "$rc" -eq 0 ] && grep -q "reconnecting" "$TMP/err" && grep -q "^Execution $restart_id Succeeded" "$TMP/out" && ok ||
  bad "watch survives a server restart in the middle of an execution (exit $rc)"

# An execution that has already ended: one snapshot, and the exit code.
timeout 30 "$BIN" watch "$ok_id" --pipeline-name watch-ok --data-dir "$TMP/data" >"$TMP/out" 2>"$TMP/err"
[ $? -eq 0 ] && [ "$(grep -c "^Execution $ok_id Succeeded" "$TMP/out")" = 1 ] && ok ||
  bad "watch of an execution that already succeeded exits 0 at once"
timeout 30 "$BIN" watch "$ok_id" --pipeline-name watch-ok --poll --data-dir "$TMP/data" >"$TMP/out" 2>"$TMP/err"
[ $? -eq 0 ] && grep -q "^Execution $ok_id Succeeded" "$TMP/out" && ok || bad "watch --poll still works"
touch "$TMP/worker.stop"
wait "$worker"
stop_server

echo "cli client e2e: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
