#!/usr/bin/env bash
# End-to-end: the seed's flow on a real `stageline server`, driven by the real
# aws CLI and git. A CodeCommit repository is created with `aws codecommit`,
# the demo pipeline (examples/demo-pipeline.json: CodeCommit source -> build
# -> manual approval -> deploy) with `aws codepipeline create-pipeline`; a
# `git push` over HTTP starts it on the pushed commit, the build compiles the
# pushed files, and the execution waits at the approval until
# `aws codepipeline put-approval-result` approves it with the token from
# `get-pipeline-state` (or rejects it, which fails the execution); one left
# waiting survives a server restart and `stageline approve` answers it.
# usage: tests/e2e/push_and_approve.sh path/to/stageline
set -uo pipefail
BIN=$(realpath "$1")
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
. tests/e2e/lib.sh
bad() {
  echo "FAIL $1"
  sed 's/^/    /' "$TMP/out" | head -30
  echo "    --- server log"; tail -20 "$TMP/server.err" | sed 's/^/    /'
  fails=$((fails + 1))
}
start_server
aws_env
git_env
ENDPOINT=(--endpoint-url "http://127.0.0.1:$PORT" --region us-east-1)
cp_() { aws codepipeline "$@" "${ENDPOINT[@]}" >"$TMP/out" 2>&1; }
HELPER="!'$BIN' repo credential --data-dir '$TMP/data'"
git_auth() { git -c credential.helper= -c "credential.helper=$HELPER" "$@"; }

# Waits (at most 60 s) until python expression $1 over get-pipeline-state is true.
wait_state() {
  for _ in $(seq 1 300); do
    cp_ get-pipeline-state --name my-app-pipeline
    [ "$(json "$1" 2>/dev/null)" = True ] && return 0
    sleep 0.2
  done
  return 1
}
# Waits (at most 60 s) until execution $1 has ended; prints its status.
wait_end() {
  for _ in $(seq 1 300); do
    cp_ get-pipeline-execution --pipeline-name my-app-pipeline --pipeline-execution-id "$1"
    local s
    s=$(json 'd["pipelineExecution"]["status"]')
    case "$s" in Succeeded | Failed | Stopped | Superseded) echo "$s"; return 0 ;; esac
    sleep 0.2
  done
  echo timeout
}
APPROVE_WAITING='d["stageStates"][2]["actionStates"][0].get("latestExecution", {}).get("status") == "InProgress" and "token" in d["stageStates"][2]["actionStates"][0]["latestExecution"]'

# 1. The artifact bucket, the repository and the pipeline, made as on AWS.
aws s3 mb s3://my-app-artifacts "${ENDPOINT[@]}" >"$TMP/out" 2>&1 && ok || bad "aws s3 mb of the artifact bucket"
aws codecommit create-repository --repository-name my-app "${ENDPOINT[@]}" >"$TMP/out" 2>&1 &&
  ok || bad "aws codecommit create-repository"
url=$(json 'd["repositoryMetadata"]["cloneUrlHttp"]')
cp_ create-pipeline --cli-input-json "file://$ROOT/examples/demo-pipeline.json"
[ "$(json 'd["pipeline"]["version"]')" = 1 ] && ok || bad "create-pipeline of the demo"
# Its first execution (CreatePipeline) fails at the source: the repository is empty.
first=$(python3 - <<EOF
import json, subprocess, time
for _ in range(300):
    out = subprocess.run(["aws", "codepipeline", "list-pipeline-executions", "--pipeline-name",
                          "my-app-pipeline", "--endpoint-url", "http://127.0.0.1:$PORT",
                          "--region", "us-east-1"], capture_output=True, text=True).stdout
    s = json.loads(out)["pipelineExecutionSummaries"]
    if s and s[0]["status"] not in ("InProgress", "Stopping"):
        print(s[0]["status"]); break
    time.sleep(0.2)
EOF
)
[ "$first" = Failed ] && ok || bad "the first execution fails on the empty repository (got '$first')"

# 2. A push starts the pipeline on the pushed commit.
git init -q -b main "$TMP/work"
cp examples/hello/hello.c "$TMP/work/"
git -C "$TMP/work" add hello.c && git -C "$TMP/work" commit -qm "First version of hello"
commit=$(git -C "$TMP/work" rev-parse HEAD)
git_auth -C "$TMP/work" push -q "$url" main >"$TMP/out" 2>&1 && ok || bad "git push over HTTP"
wait_state "$APPROVE_WAITING" && ok || bad "the push runs source and build, then waits at the approval"
exec_id=$(json 'd["stageStates"][2]["latestExecution"]["pipelineExecutionId"]')
[ -n "$exec_id" ] || { echo "no execution reached the approval; giving up"; exit 1; }
token=$(json 'd["stageStates"][2]["actionStates"][0]["latestExecution"]["token"]')
cp_ get-pipeline-execution --pipeline-name my-app-pipeline --pipeline-execution-id "$exec_id"
[ "$(json 'd["pipelineExecution"]["trigger"]["triggerType"]')" = CloudWatchEvent ] &&
  [ "$(json 'd["pipelineExecution"]["artifactRevisions"][0]["revisionId"]')" = "$commit" ] &&
  ok || bad "the execution was triggered by the push and used the pushed commit"
cp_ list-action-executions --pipeline-name my-app-pipeline --filter "pipelineExecutionId=$exec_id"
[ "$(json '[a["output"]["outputVariables"].get("CommitMessage") for a in d["actionExecutionDetails"] if a["actionName"] == "Source"][0]')" = "First version of hello" ] &&
  ok || bad "the source action's output variables name the commit"
"$BIN" logs "$exec_id" --pipeline-name my-app-pipeline --data-dir "$TMP/data" >"$TMP/out" 2>&1
grep -q "building commit $commit of my-app" "$TMP/out" && grep -q "hello from the pipeline" "$TMP/out" &&
  ok || bad "the build compiled and ran the pushed program"
cp_ get-pipeline-state --name my-app-pipeline
[ "$(json 'd["stageStates"][3].get("latestExecution", {}).get("pipelineExecutionId") != "'"$exec_id"'"')" = True ] &&
  ok || bad "Deploy has not started while the approval waits"

# 3. put-approval-result as the seed shows: a wrong token, then the right one.
cp_ put-approval-result --pipeline-name my-app-pipeline --stage-name Approve \
  --action-name ManualApproval --result summary=ok,status=Approved \
  --token 00000000-0000-4000-8000-000000000000
grep -q "InvalidApprovalTokenException" "$TMP/out" && ok || bad "a wrong token is InvalidApprovalTokenException"
cp_ put-approval-result --pipeline-name my-app-pipeline --stage-name Approve \
  --action-name ManualApproval --result "summary=Looks good,status=Approved" --token "$token"
[ "$(json '"approvedAt" in d')" = True ] && ok || bad "put-approval-result approves"
[ "$(wait_end "$exec_id")" = Succeeded ] && ok || bad "the approved execution deploys and succeeds"
cp_ get-pipeline-state --name my-app-pipeline
[ "$(json 'd["stageStates"][2]["actionStates"][0]["latestExecution"]["lastUpdatedBy"]')" = \
  "arn:aws:iam::111122223333:user/admin" ] &&
  [ "$(json 'd["stageStates"][2]["actionStates"][0]["latestExecution"]["summary"]')" = "Looks good" ] &&
  ok || bad "the approval records who approved it and why"
cp_ put-approval-result --pipeline-name my-app-pipeline --stage-name Approve \
  --action-name ManualApproval --result summary=again,status=Rejected --token "$token"
grep -q "ApprovalAlreadyCompletedException" "$TMP/out" && ok || bad "answering twice is ApprovalAlreadyCompletedException"

# 4. A second push, rejected: the execution fails and Deploy never runs.
echo "/* v2 */" >>"$TMP/work/hello.c"
git -C "$TMP/work" commit -qam "Second version"
git_auth -C "$TMP/work" push -q "$url" main >"$TMP/out" 2>&1 && ok || bad "a second git push"
wait_state "$APPROVE_WAITING"' and d["stageStates"][2]["latestExecution"]["pipelineExecutionId"] != "'"$exec_id"'"' &&
  ok || bad "the second push waits at the approval"
second=$(json 'd["stageStates"][2]["latestExecution"]["pipelineExecutionId"]')
token=$(json 'd["stageStates"][2]["actionStates"][0]["latestExecution"]["token"]')
cp_ put-approval-result --pipeline-name my-app-pipeline --stage-name Approve \
  --action-name ManualApproval --result "summary=Not today,status=Rejected" --token "$token"
[ "$(wait_end "$second")" = Failed ] && ok || bad "a rejected execution fails"
cp_ get-pipeline-state --name my-app-pipeline
[ "$(json 'd["stageStates"][2]["actionStates"][0]["latestExecution"]["errorDetails"]["message"]')" = \
  "Rejected by arn:aws:iam::111122223333:user/admin: Not today" ] &&
  [ "$(json 'd["stageStates"][3]["latestExecution"]["pipelineExecutionId"]')" = "$exec_id" ] &&
  ok || bad "the rejection is shown and Deploy kept the approved execution"

# 5. A push to another branch starts nothing.
git -C "$TMP/work" checkout -q -b feature
git -C "$TMP/work" commit -q --allow-empty -m "On a branch"
git_auth -C "$TMP/work" push -q "$url" feature >"$TMP/out" 2>&1
sleep 1
cp_ list-pipeline-executions --pipeline-name my-app-pipeline
[ "$(json 'len(d["pipelineExecutionSummaries"])')" = 3 ] && ok || bad "a push to another branch starts nothing"

# 6. An approval left waiting survives a server restart, and `stageline
# approve` finds its token and answers it.
git -C "$TMP/work" checkout -q main
echo "/* v3 */" >>"$TMP/work/hello.c"
git -C "$TMP/work" commit -qam "Third version"
git_auth -C "$TMP/work" push -q "$url" main >"$TMP/out" 2>&1 && ok || bad "a third git push"
wait_state "$APPROVE_WAITING"' and d["stageStates"][2]["latestExecution"]["pipelineExecutionId"] not in ("'"$exec_id"'", "'"$second"'")' &&
  ok || bad "the third push waits at the approval"
third=$(json 'd["stageStates"][2]["latestExecution"]["pipelineExecutionId"]')
stop_server
start_server
cp_ get-pipeline-state --name my-app-pipeline
[ "$(json "$APPROVE_WAITING")" = True ] && ok || bad "the approval still waits after a restart"
"$BIN" approve my-app-pipeline Approve Nope --data-dir "$TMP/data" >"$TMP/out" 2>&1
[ $? = 255 ] && grep -q "has no action Nope" "$TMP/out" && ok || bad "stageline approve of an unknown action says so"
"$BIN" approve my-app-pipeline Approve ManualApproval --summary "Approved from the CLI" \
  --data-dir "$TMP/data" >"$TMP/out" 2>&1 &&
  grep -q "^Approved my-app-pipeline/Approve/ManualApproval at 20" "$TMP/out" &&
  ok || bad "stageline approve finds the token and approves after the restart"
[ "$(wait_end "$third")" = Succeeded ] && ok || bad "the execution approved after the restart succeeds"
cp_ get-pipeline-state --name my-app-pipeline
[ "$(json 'd["stageStates"][2]["actionStates"][0]["latestExecution"]["summary"]')" = "Approved from the CLI" ] &&
  ok || bad "stageline approve records its summary"
"$BIN" reject my-app-pipeline Approve ManualApproval --data-dir "$TMP/data" >"$TMP/out" 2>&1
[ $? = 255 ] && grep -q "no approval is waiting at my-app-pipeline/Approve/ManualApproval (its latest execution is Succeeded)" "$TMP/out" &&
  ok || bad "stageline reject with nothing waiting says so"
"$BIN" approve my-app-pipeline Approve >"$TMP/out" 2>&1
[ $? = 2 ] && grep -q "expected PIPELINE STAGE ACTION" "$TMP/out" && ok || bad "stageline approve needs three names"

finish "push and approve e2e"
