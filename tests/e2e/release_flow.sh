#!/usr/bin/env bash
# End-to-end: the seed's release flow on `stageline server`, driven by the
# real aws CLI and git. A push to a hosted repository runs Source (CodeCommit)
# -> Build (CodeBuild, the repository's buildspec.yml) -> Deploy, where a
# manual approval at runOrder 1 guards an S3 deploy and a CodeDeploy deploy
# to two on-premises instances (target directories) at runOrder 2. The test
# reads the token from get-pipeline-state and approves with
# put-approval-result: the site is in the bucket and in both target
# directories, the hooks ran in order. A second push is rejected: the Deploy
# stage fails at the approval and nothing of it is deployed anywhere.
# usage: tests/e2e/release_flow.sh path/to/stageline
set -uo pipefail
BIN=$(realpath "$1")
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
start_server
aws_env
git_env
EP=(--endpoint-url "http://127.0.0.1:$PORT" --region us-east-1)
cp_() { aws codepipeline "$@" "${EP[@]}" >"$TMP/out" 2>&1; }
HOOKS="$TMP/hooks.log"
HELPER="!'$BIN' repo credential --data-dir '$TMP/data'"
git_auth() { git -c credential.helper= -c "credential.helper=$HELPER" "$@"; }

# Waits (at most 60 s) until python expression $1 over get-pipeline-state is true.
wait_state() {
  for _ in $(seq 1 300); do
    cp_ get-pipeline-state --name release
    [ "$(json "$1" 2>/dev/null)" = True ] && return 0
    sleep 0.2
  done
  return 1
}
# Waits for execution $1 to end; prints its status.
wait_end() {
  for _ in $(seq 1 300); do
    cp_ get-pipeline-execution --pipeline-name release --pipeline-execution-id "$1"
    local s
    s=$(json 'd["pipelineExecution"]["status"]')
    case "$s" in Succeeded | Failed | Stopped | Superseded) echo "$s"; return 0 ;; esac
    sleep 0.2
  done
  echo timeout
}
WAITING='d["stageStates"][2]["actionStates"][0].get("latestExecution", {}).get("status") == "InProgress" and "token" in d["stageStates"][2]["actionStates"][0]["latestExecution"]'

# 1. What the pipeline needs, made as on AWS.
aws s3 mb s3://release-artifacts "${EP[@]}" >"$TMP/out" 2>&1 && aws s3 mb s3://release-site "${EP[@]}" >>"$TMP/out" 2>&1 &&
  ok || bad "aws s3 mb of the artifact and site buckets"
aws codecommit create-repository --repository-name shop "${EP[@]}" >"$TMP/out" 2>&1 && ok || bad "create-repository"
url=$(json 'd["repositoryMetadata"]["cloneUrlHttp"]')
aws codebuild create-project --name shop-build --source type=CODEPIPELINE --artifacts type=CODEPIPELINE \
  --environment type=LINUX_CONTAINER,image=aws/codebuild/standard:7.0,computeType=BUILD_GENERAL1_SMALL \
  --service-role arn:aws:iam::111122223333:role/codebuild "${EP[@]}" >"$TMP/out" 2>&1 && ok || bad "create-project"
codedeploy_group shop web web-1 web-2 && ok || bad "a CodeDeploy application, deployment group and instances web-1 and web-2"
cat >"$TMP/release.json" <<JSON
{"pipeline": {"name": "release", "roleArn": "arn:aws:iam::111122223333:role/pipeline", "pipelineType": "V2",
 "executionMode": "QUEUED",
 "artifactStore": {"type": "S3", "location": "release-artifacts"},
 "stages": [
  {"name": "Source", "actions": [{"name": "Source",
    "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeCommit", "version": "1"},
    "configuration": {"RepositoryName": "shop", "BranchName": "main", "PollForSourceChanges": "false"},
    "outputArtifacts": [{"name": "SourceOut"}], "namespace": "SourceVariables"}]},
  {"name": "Build", "actions": [{"name": "Build",
    "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
    "configuration": {"ProjectName": "shop-build"},
    "inputArtifacts": [{"name": "SourceOut"}], "outputArtifacts": [{"name": "Site"}], "namespace": "BuildVariables"}]},
  {"name": "Deploy", "actions": [
    {"name": "Approve", "runOrder": 1,
     "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"},
     "configuration": {"CustomData": "Release #{BuildVariables.VERSION} (commit #{SourceVariables.CommitId})"}},
    {"name": "Publish", "runOrder": 2,
     "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "S3", "version": "1"},
     "configuration": {"BucketName": "release-site", "Extract": "true", "ObjectKey": "www"},
     "inputArtifacts": [{"name": "Site"}]},
    {"name": "Ship", "runOrder": 2,
     "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "CodeDeploy", "version": "1"},
     "configuration": {"ApplicationName": "shop", "DeploymentGroupName": "web"},
     "inputArtifacts": [{"name": "Site"}]}]}]}}
JSON
cp_ create-pipeline --cli-input-json "file://$TMP/release.json" && ok || bad "create-pipeline"

# 2. The repository: a page built from a template, an appspec and its hooks.
git init -q -b main "$TMP/work"
mkdir -p "$TMP/work/scripts"
echo '<h1>shop @VERSION@</h1>' >"$TMP/work/index.html.in"
cat >"$TMP/work/buildspec.yml" <<'YAML'
version: 0.2
env:
  exported-variables: [VERSION]
phases:
  build:
    commands:
      - VERSION=$(cat VERSION)
      - mkdir -p out/site && sed "s/@VERSION@/$VERSION/" index.html.in > out/site/index.html
      - cp -r appspec.yml scripts out/
artifacts:
  base-directory: out
  files: ['**/*']
YAML
cat >"$TMP/work/appspec.yml" <<'YAML'
version: 0.0
os: linux
files:
  - source: site
    destination: /srv/shop
hooks:
  BeforeInstall:
    - location: scripts/hook.sh
  ApplicationStart:
    - location: scripts/hook.sh
  ValidateService:
    - location: scripts/hook.sh
YAML
printf '#!/bin/sh\necho "$STAGELINE_INSTANCE_NAME $LIFECYCLE_EVENT" >> %s\n' "$HOOKS" >"$TMP/work/scripts/hook.sh"
chmod 755 "$TMP/work/scripts/hook.sh"
echo 1.0 >"$TMP/work/VERSION"
git -C "$TMP/work" add -A && git -C "$TMP/work" commit -qm "Release 1.0"
first_exec() {  # the execution CreatePipeline started fails on the empty repository
  for _ in $(seq 1 300); do
    cp_ list-pipeline-executions --pipeline-name release
    [ "$(json 'd["pipelineExecutionSummaries"][-1]["status"]')" != InProgress ] && return 0
    sleep 0.2
  done
}
first_exec
git_auth -C "$TMP/work" push -q "$url" main >"$TMP/out" 2>&1 && ok || bad "git push"

# 3. Build done, the approval waits with its CustomData resolved; nothing is deployed yet.
wait_state "$WAITING" && ok || bad "source and build run, then the approval waits"
exec1=$(json 'd["stageStates"][2]["latestExecution"]["pipelineExecutionId"]')
token=$(json 'd["stageStates"][2]["actionStates"][0]["latestExecution"]["token"]')
[ -n "$token" ] || { echo "no token; giving up"; finish "release flow e2e"; exit 1; }
aws s3 ls s3://release-site --recursive "${EP[@]}" >"$TMP/out" 2>&1
[ ! -s "$TMP/out" ] && [ ! -e "$TMP/hosts/web-1/srv/shop/index.html" ] && ok || bad "nothing is deployed while the approval waits"

# 4. Approved as the seed shows: both deploys run.
cp_ put-approval-result --pipeline-name release --stage-name Deploy --action-name Approve \
  --result "summary=Ship 1.0,status=Approved" --token "$token"
[ "$(json '"approvedAt" in d')" = True ] && ok || bad "put-approval-result approves"
[ "$(wait_end "$exec1")" = Succeeded ] && ok || { cp_ get-pipeline-state --name release; bad "the approved release succeeds"; }
aws s3 cp s3://release-site/www/site/index.html - "${EP[@]}" >"$TMP/out" 2>&1
grep -q "<h1>shop 1.0</h1>" "$TMP/out" && ok || bad "the S3 deploy put the built page in the bucket"
"$BIN" s3 ls s3://release-site/www/ --data-dir "$TMP/data" >"$TMP/out" 2>&1
grep -q "PRE site/" "$TMP/out" && grep -q " appspec.yml$" "$TMP/out" && ok || bad "stageline s3 ls shows the deployed artifact"
for i in web-1 web-2; do
  [ "$(cat "$TMP/hosts/$i/srv/shop/index.html" 2>/dev/null)" = "<h1>shop 1.0</h1>" ] && ok || bad "$i holds release 1.0"
done
[ "$(grep -c '^web-1 ' "$HOOKS" 2>/dev/null)" = 3 ] && [ "$(grep '^web-1 ' "$HOOKS" | cut -d' ' -f2 | tr '\n' ' ')" = \
  "BeforeInstall ApplicationStart ValidateService " ] && grep -q '^web-2 ValidateService' "$HOOKS" &&
  ok || { cat "$HOOKS" >"$TMP/out" 2>/dev/null; bad "the hooks ran in order on both instances"; }
cp_ get-pipeline-state --name release
[ "$(json 'd["stageStates"][2]["actionStates"][0]["latestExecution"]["summary"]')" = "Ship 1.0" ] &&
  [ "$(json 'd["stageStates"][2]["actionStates"][0]["latestExecution"]["lastUpdatedBy"]')" = \
    "arn:aws:iam::111122223333:user/admin" ] && ok || bad "the approval shows who approved it and why"
cp_ list-action-executions --pipeline-name release --filter "pipelineExecutionId=$exec1"
ship=$(json '[a["actionExecutionId"] for a in d["actionExecutionDetails"] if a["actionName"] == "Ship"][0]')
cp_ list-deploy-action-execution-targets --pipeline-name release --action-execution-id "$ship"
[ "$(json 'sorted((t["targetId"], t["status"], t["targetType"]) for t in d["targets"])')" = \
  "[('web-1', 'Succeeded', 'OnPremisesInstance'), ('web-2', 'Succeeded', 'OnPremisesInstance')]" ] &&
  [ "$(json '[e["name"] for e in d["targets"][0]["events"]][-1]')" = ValidateService ] &&
  ok || bad "list-deploy-action-execution-targets shows the CodeDeploy targets and their events"
aws deploy list-deployments --application-name shop --deployment-group-name web "${EP[@]}" >"$TMP/out" 2>&1
deployments=$(json 'len(d["deployments"])')
[ "$deployments" = 1 ] && ok || bad "one deployment so far"

# 5. Release 2.0, rejected: the stage fails at the approval, nothing moves.
echo 2.0 >"$TMP/work/VERSION"
git -C "$TMP/work" commit -qam "Release 2.0"
git_auth -C "$TMP/work" push -q "$url" main >"$TMP/out" 2>&1 && ok || bad "a second push"
wait_state "$WAITING"' and d["stageStates"][2]["latestExecution"]["pipelineExecutionId"] != "'"$exec1"'"' &&
  ok || bad "release 2.0 waits at the approval"
exec2=$(json 'd["stageStates"][2]["latestExecution"]["pipelineExecutionId"]')
token=$(json 'd["stageStates"][2]["actionStates"][0]["latestExecution"]["token"]')
cp_ put-approval-result --pipeline-name release --stage-name Deploy --action-name Approve \
  --result "summary=Not this one,status=Rejected" --token "$token"
[ "$(wait_end "$exec2")" = Failed ] && ok || bad "the rejected release fails"
cp_ get-pipeline-state --name release
[ "$(json 'd["stageStates"][2]["latestExecution"]["status"]')" = Failed ] &&
  [ "$(json 'd["stageStates"][2]["actionStates"][0]["latestExecution"]["status"]')" = Failed ] &&
  ok || bad "the Deploy stage is Failed at the approval"
cp_ list-action-executions --pipeline-name release --filter "pipelineExecutionId=$exec2"
[ "$(json 'sorted(a["actionName"] for a in d["actionExecutionDetails"])')" = "['Approve', 'Build', 'Source']" ] &&
  ok || bad "the rejected execution never ran the deploy actions"
aws s3 cp s3://release-site/www/site/index.html - "${EP[@]}" >"$TMP/out" 2>&1
grep -q "<h1>shop 1.0</h1>" "$TMP/out" && [ "$(cat "$TMP/hosts/web-2/srv/shop/index.html")" = "<h1>shop 1.0</h1>" ] &&
  ok || bad "the bucket and the instances still hold 1.0"
aws deploy list-deployments --application-name shop --deployment-group-name web "${EP[@]}" >"$TMP/out" 2>&1
[ "$(json 'len(d["deployments"])')" = "$deployments" ] && ok || bad "no deployment was made for the rejected release"

finish "release flow e2e"
