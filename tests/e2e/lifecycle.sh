#!/usr/bin/env bash
# End-to-end: lifecycle expiry of artifact buckets, with time moved forward by
# `stageline s3 expire --at`. The server makes the default artifact bucket
# with the 30-day rule; a pipeline storing its artifacts there runs three
# times; 31 days later the sweep removes an old stray object and the first
# execution's artifacts, but keeps those of the two latest successful
# executions (what a rollback needs). A changed rule is honoured.
# usage: tests/e2e/lifecycle.sh path/to/stageline
set -uo pipefail
BIN=$(realpath "$1")
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
start_server
aws_env
EP="http://127.0.0.1:$PORT"
DEFAULT=codepipeline-us-east-1-111122223333
cp_() { aws codepipeline "$@" --endpoint-url "$EP" --region us-east-1 >"$TMP/out" 2>&1; }
s3api() { aws s3api "$@" --endpoint-url "$EP" --region us-east-1 >"$TMP/out" 2>&1; }
exists() { aws s3api head-object --bucket "$DEFAULT" --key "$1" --endpoint-url "$EP" --region us-east-1 >/dev/null 2>&1; }

# 1. The default artifact bucket comes with the 30-day rule.
s3api get-bucket-lifecycle-configuration --bucket "$DEFAULT"
[ "$(json 'd["Rules"][0]["Expiration"]["Days"]')" = 30 ] && ok ||
  bad "the default artifact bucket has the 30-day expiry rule"

# 2. A pipeline with its artifacts there, run three times.
mkdir -p "$TMP/app" && echo hello >"$TMP/app/hello.txt" && (cd "$TMP/app" && python3 -m zipfile -c ../app.zip hello.txt)
aws s3 mb s3://lc-source --endpoint-url "$EP" --region us-east-1 >/dev/null 2>&1
aws s3 cp "$TMP/app.zip" s3://lc-source/app.zip --endpoint-url "$EP" --region us-east-1 >/dev/null 2>&1
cat >"$TMP/pipeline.json" <<JSON
{"pipeline": {"name": "lc-app", "roleArn": "arn:aws:iam::111122223333:role/p", "pipelineType": "V2",
  "executionMode": "QUEUED",
  "artifactStore": {"type": "S3", "location": "$DEFAULT"},
  "stages": [
    {"name": "Source", "actions": [{"name": "Src", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
      "configuration": {"S3Bucket": "lc-source", "S3ObjectKey": "app.zip"}, "outputArtifacts": [{"name": "Src"}]}]},
    {"name": "Make", "actions": [{"name": "Make", "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
      "commands": ["date +%s%N > stamp.txt"], "inputArtifacts": [{"name": "Src"}], "outputArtifacts": [{"name": "Out", "files": ["stamp.txt"]}]}]},
    {"name": "Use", "actions": [{"name": "Use", "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
      "commands": ["cat stamp.txt"], "inputArtifacts": [{"name": "Out"}]}]}]}}
JSON
cp_ create-pipeline --cli-input-json "file://$TMP/pipeline.json" && ok || { bad "create-pipeline"; exit 1; }
wait_all_done() {
  for _ in $(seq 1 300); do
    cp_ list-pipeline-executions --pipeline-name lc-app
    [ "$(json 'len([s for s in d["pipelineExecutionSummaries"] if s["status"] == "Succeeded"])')" = "$1" ] && return 0
    [ "$(json 'any(s["status"] == "Failed" for s in d["pipelineExecutionSummaries"])' 2>/dev/null)" = True ] && return 1
    sleep 0.2
  done
  return 1
}
wait_all_done 1 || bad "the first execution succeeds"
cp_ start-pipeline-execution --name lc-app
wait_all_done 2 || bad "the second execution succeeds"
cp_ start-pipeline-execution --name lc-app
wait_all_done 3 && ok || bad "three executions succeed"
cp_ list-pipeline-executions --pipeline-name lc-app
ids=$(json '" ".join(s["pipelineExecutionId"] for s in reversed(d["pipelineExecutionSummaries"]))')
keys=()
for id in $ids; do
  cp_ list-action-executions --pipeline-name lc-app --filter "pipelineExecutionId=$id"
  keys+=("$(json '[a["output"]["outputArtifacts"][0]["s3location"]["key"] for a in d["actionExecutionDetails"] if a["actionName"] == "Make"][0]')")
done
[ "${#keys[@]}" = 3 ] && exists "${keys[0]}" && exists "${keys[2]}" && ok || bad "each execution stored its artifact"
echo stray | aws s3 cp - "s3://$DEFAULT/other/stray.txt" --endpoint-url "$EP" --region us-east-1 >/dev/null 2>&1

# 3. Before 30 days nothing goes; a dry run at 31 days says what would.
"$BIN" s3 expire --at +29d --data-dir "$TMP/data" >"$TMP/out" 2>&1 && ! grep -q expired "$TMP/out" && ok ||
  bad "nothing expires before 30 days"
"$BIN" s3 expire --at +31d --dry-run --data-dir "$TMP/data" >"$TMP/out" 2>&1 &&
  grep -q "would have expired s3://$DEFAULT/other/stray.txt" "$TMP/out" && exists other/stray.txt &&
  ok || bad "a dry run lists what would expire and removes nothing"

# 4. At 31 days: the stray object and the first execution's artifact go; the
# two latest successful executions' artifacts stay.
"$BIN" s3 expire --at +31d --data-dir "$TMP/data" >"$TMP/out" 2>&1
grep -q "^expired s3://$DEFAULT/other/stray.txt" "$TMP/out" && ! exists other/stray.txt && ok ||
  bad "an object older than the rule expires"
! exists "${keys[0]}" && ok || bad "the oldest execution's artifact expires"
exists "${keys[1]}" && exists "${keys[2]}" && grep -q "kept s3://$DEFAULT/${keys[2]}.*needed by a pipeline" "$TMP/out" &&
  ok || bad "the two latest successful executions' artifacts are kept and the log says why"
grep -q "lifecycle: expired s3://$DEFAULT/other/stray.txt" "$TMP/server.err" && ok ||
  bad "the server logs what it removed"

# 5. A changed rule is honoured: 100 days, then none at all.
echo stray | aws s3 cp - "s3://$DEFAULT/other/stray2.txt" --endpoint-url "$EP" --region us-east-1 >/dev/null 2>&1
s3api put-bucket-lifecycle-configuration --bucket "$DEFAULT" --lifecycle-configuration \
  '{"Rules": [{"ID": "long", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 100}}]}' &&
  ok || bad "put-bucket-lifecycle-configuration"
"$BIN" s3 expire --at +31d --data-dir "$TMP/data" >"$TMP/out" 2>&1 && exists other/stray2.txt && ok ||
  bad "a 100-day rule keeps a 31-day-old object"
s3api delete-bucket-lifecycle --bucket "$DEFAULT"
"$BIN" s3 expire --at +400d --data-dir "$TMP/data" >"$TMP/out" 2>&1 && exists other/stray2.txt && ok ||
  bad "without a rule nothing expires"
# 6. A restart does not put the removed rule back.
stop_server
start_server
s3api get-bucket-lifecycle-configuration --bucket "$DEFAULT"
grep -q NoSuchLifecycleConfiguration "$TMP/out" && ok || bad "a removed default rule stays removed"

finish "lifecycle e2e"
