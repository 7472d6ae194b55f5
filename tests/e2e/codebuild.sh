#!/usr/bin/env bash
# End-to-end: CodeBuild on `stageline server`, driven by the real aws CLI
# (aws codebuild / codecommit / codepipeline / s3) and the real git over
# HTTP: a standalone NO_SOURCE build; a pipeline whose CodeBuild action
# compiles and tests a C program from the repository's buildspec.yml and
# exports a variable a later stage echoes; a failing build phase that still
# runs post_build and fails the action naming the phase; a multi-input build
# with PrimarySource and secondary artifacts.
# usage: tests/e2e/codebuild.sh path/to/stageline
set -uo pipefail
BIN=$(realpath "$1")
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh

start_server

aws_env
git_env
EP=(--endpoint-url "http://127.0.0.1:$PORT" --region us-east-1)
cb() { aws codebuild "$@" "${EP[@]}"; }
cp_() { aws codepipeline "$@" "${EP[@]}"; }
sl() { "$BIN" "$@" --data-dir "$TMP/data" --endpoint-url "http://127.0.0.1:$PORT" --region us-east-1; }
HELPER="!'$BIN' repo credential --data-dir '$TMP/data'"
git_auth() { git -c credential.helper= -c "credential.helper=$HELPER" "$@"; }
ENVIRONMENT="type=LINUX_CONTAINER,image=aws/codebuild/standard:7.0,computeType=BUILD_GENERAL1_SMALL"
ROLE=arn:aws:iam::111122223333:role/codebuild

# Waits for build $1 to complete; leaves the BatchGetBuilds answer in $TMP/out.
wait_build() {
  for _ in $(seq 1 300); do
    cb batch-get-builds --ids "$1" >"$TMP/out" 2>&1
    [ "$(json 'd["builds"][0]["buildComplete"]' 2>/dev/null)" = True ] && return 0
    sleep 0.1
  done
  return 1
}
# Waits for the latest execution of pipeline $1 to end; $exec_id, $st.
wait_latest() {
  st="" exec_id=""
  for _ in $(seq 1 300); do
    cp_ list-pipeline-executions --pipeline-name "$1" >"$TMP/out" 2>&1
    st=$(json 'd["pipelineExecutionSummaries"][0]["status"]' 2>/dev/null)
    [ "$st" = Succeeded ] || [ "$st" = Failed ] && break
    sleep 0.2
  done
  exec_id=$(json 'd["pipelineExecutionSummaries"][0]["pipelineExecutionId"]' 2>/dev/null)
}
# Field $3 (a python expression on the action execution `a`) of action $2
# in execution $4 of pipeline $1.
action_field() {
  cp_ list-action-executions --pipeline-name "$1" --filter "pipelineExecutionId=$4" >"$TMP/out" 2>&1
  json "[$3 for a in d['actionExecutionDetails'] if a['actionName']=='$2'][0]"
}
# Makes CodeCommit repository $1 from the files of directory $2 (main).
push_repo() {
  aws codecommit create-repository --repository-name "$1" "${EP[@]}" >"$TMP/out" 2>&1 || return 1
  (cd "$2" && git init -q -b main && git add -A && git commit -q -m "Add $1" &&
    git_auth push -q "http://127.0.0.1:$PORT/v1/repos/$1" main) >"$TMP/out" 2>&1
}

# 1. A standalone build: NO_SOURCE with an inline buildspec.
cat >"$TMP/solo.json" <<'JSON'
{"name": "solo", "source": {"type": "NO_SOURCE", "buildspec":
  "version: 0.2\nenv:\n  variables:\n    GREETING: hello\n  exported-variables: [RESULT]\nphases:\n  install:\n    commands:\n      - mkdir work && cd work\n  build:\n    commands:\n      - echo \"$GREETING from $(basename $PWD) build $CODEBUILD_BUILD_NUMBER\"\n      - export RESULT=\"$GREETING-$NAME\"\n"},
 "artifacts": {"type": "NO_ARTIFACTS"},
 "environment": {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
   "computeType": "BUILD_GENERAL1_SMALL",
   "environmentVariables": [{"name": "NAME", "value": "project"}]},
 "serviceRole": "arn:aws:iam::111122223333:role/codebuild"}
JSON
cb create-project --cli-input-json "file://$TMP/solo.json" >"$TMP/out" 2>&1
[ "$(json 'd["project"]["arn"]')" = arn:aws:codebuild:us-east-1:111122223333:project/solo ] && ok ||
  bad "create-project with NO_SOURCE and an inline buildspec"
cb create-project --cli-input-json "file://$TMP/solo.json" >"$TMP/out" 2>&1
grep -q ResourceAlreadyExistsException "$TMP/out" && ok || bad "a second create-project is ResourceAlreadyExistsException"
cb start-build --project-name solo --environment-variables-override name=NAME,value=override,type=PLAINTEXT >"$TMP/out" 2>&1
build_id=$(json 'd["build"]["id"]')
case "$build_id" in solo:*) ok ;; *) bad "start-build answers a build id: $build_id" ;; esac
wait_build "$build_id" && [ "$(json 'd["builds"][0]["buildStatus"]')" = SUCCEEDED ] && ok ||
  bad "the standalone build SUCCEEDED"
[ "$(json '[p["phaseType"] for p in d["builds"][0]["phases"]]')" = \
  "['SUBMITTED', 'QUEUED', 'PROVISIONING', 'DOWNLOAD_SOURCE', 'INSTALL', 'PRE_BUILD', 'BUILD', 'POST_BUILD', 'UPLOAD_ARTIFACTS', 'FINALIZING', 'COMPLETED']" ] &&
  [ "$(json '[p for p in d["builds"][0]["phases"] if p["phaseType"]=="BUILD"][0]["phaseStatus"]')" = SUCCEEDED ] &&
  [ "$(json '"durationInSeconds" in [p for p in d["builds"][0]["phases"] if p["phaseType"]=="BUILD"][0]')" = True ] &&
  ok || bad "batch-get-builds shows the phases with statuses and durations"
[ "$(json 'd["builds"][0]["exportedEnvironmentVariables"][0]["value"]')" = hello-override ] && ok ||
  bad "the override beats the project's variable, and the exported variable is recorded"
log=$(json 'd["builds"][0]["logs"]["deepLink"]'); log=${log#file://}
grep -q "hello from work build 1" "$log" && ok || { cp "$log" "$TMP/out"; bad "the build log has the command output"; }
cb list-builds-for-project --project-name solo >"$TMP/out" 2>&1
[ "$(json 'd["ids"]')" = "['$build_id']" ] && ok || bad "list-builds-for-project"
cb start-build --project-name nope >"$TMP/out" 2>&1
grep -q ResourceNotFoundException "$TMP/out" && ok || bad "start-build of a missing project"
cb list-projects >"$TMP/out" 2>&1
[ "$(json 'd["projects"]')" = "['solo']" ] && ok || bad "list-projects"

# 2. A repository with a C program, its tests and a buildspec.yml.
mkdir -p "$TMP/app"
cat >"$TMP/app/hello.c" <<'C'
#include <stdio.h>
#include <string.h>
int add(int a, int b) { return a + b; }
int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "--version") == 0) { puts("2.1.0"); return 0; }
  if (argc > 1 && strcmp(argv[1], "--test") == 0) return add(2, 2) == 4 ? 0 : 1;
  printf("hello %d\n", add(40, 2));
  return 0;
}
C
cat >"$TMP/app/buildspec.yml" <<'YAML'
version: 0.2
env:
  exported-variables:
    - APP_VERSION
phases:
  build:
    commands:
      - cc -Wall -o hello hello.c
      - ./hello --test && echo "tests passed"
      - export APP_VERSION=$(./hello --version)
  post_build:
    commands:
      - echo "post_build ran, succeeding=$CODEBUILD_BUILD_SUCCEEDING"
artifacts:
  files:
    - hello
YAML
push_repo app "$TMP/app" && ok || bad "push the app repository over HTTP"
aws s3 mb s3://cb-artifacts "${EP[@]}" >"$TMP/out" 2>&1 && ok || bad "aws s3 mb of the artifact bucket"
cb create-project --name app-build --source type=CODEPIPELINE --artifacts type=CODEPIPELINE \
  --environment "$ENVIRONMENT" --service-role "$ROLE" >"$TMP/out" 2>&1 && ok || bad "create-project app-build"

source_action() { # action name, repository, output artifact, namespace
  echo "{\"name\": \"$1\", \"namespace\": \"$4\",
    \"actionTypeId\": {\"category\": \"Source\", \"owner\": \"AWS\", \"provider\": \"CodeCommit\", \"version\": \"1\"},
    \"configuration\": {\"RepositoryName\": \"$2\", \"BranchName\": \"main\", \"PollForSourceChanges\": \"false\"},
    \"outputArtifacts\": [{\"name\": \"$3\"}]}"
}
pipeline() { # name, stages JSON
  cat >"$TMP/$1.json" <<JSON
{"pipeline": {"name": "$1", "roleArn": "arn:aws:iam::111122223333:role/pipeline",
 "artifactStore": {"type": "S3", "location": "cb-artifacts"}, "pipelineType": "V2",
 "stages": $2}}
JSON
  cp_ create-pipeline --cli-input-json "file://$TMP/$1.json" >"$TMP/out" 2>&1
}
pipeline app-pipeline "[
  {\"name\": \"Source\", \"actions\": [$(source_action Src app SourceOut SourceVariables)]},
  {\"name\": \"Build\", \"actions\": [{\"name\": \"Compile\", \"namespace\": \"BuildVariables\",
    \"actionTypeId\": {\"category\": \"Build\", \"owner\": \"AWS\", \"provider\": \"CodeBuild\", \"version\": \"1\"},
    \"configuration\": {\"ProjectName\": \"app-build\"},
    \"inputArtifacts\": [{\"name\": \"SourceOut\"}], \"outputArtifacts\": [{\"name\": \"BuildOut\"}]}]},
  {\"name\": \"Release\", \"actions\": [{\"name\": \"Announce\",
    \"actionTypeId\": {\"category\": \"Compute\", \"owner\": \"AWS\", \"provider\": \"Commands\", \"version\": \"1\"},
    \"commands\": [\"./hello\", \"echo released version #{BuildVariables.APP_VERSION}\"],
    \"inputArtifacts\": [{\"name\": \"BuildOut\"}]}]}]" && ok || bad "create-pipeline app-pipeline"
wait_latest app-pipeline; exec1=$exec_id
[ "$st" = Succeeded ] && ok || { cp_ get-pipeline-state --name app-pipeline >"$TMP/out" 2>&1; bad "the app pipeline succeeds: $st"; }
[ "$(action_field app-pipeline Compile "a['output']['outputVariables'].get('APP_VERSION','')" "$exec1")" = 2.1.0 ] &&
  ok || bad "the exported variable is the action's output variable"
app_build=$(action_field app-pipeline Compile "a['output']['executionResult']['externalExecutionId']" "$exec1")
case "$app_build" in app-build:*) ok ;; *) bad "the action's external execution id is the build id: $app_build" ;; esac
wait_build "$app_build"
[ "$(json 'd["builds"][0]["buildStatus"]')" = SUCCEEDED ] &&
  [ "$(json 'd["builds"][0]["initiator"]')" = codepipeline/app-pipeline ] && ok ||
  bad "batch-get-builds shows the pipeline's build"
sl logs "$exec1" --pipeline-name app-pipeline --action Announce >"$TMP/out" 2>&1
grep -q "released version 2.1.0" "$TMP/out" && grep -q "hello 42" "$TMP/out" && ok ||
  bad "a later stage echoes the exported variable and runs the built program"
sl logs "$exec1" --pipeline-name app-pipeline --action Compile >"$TMP/out" 2>&1
grep -q "tests passed" "$TMP/out" && grep -q "post_build ran, succeeding=1" "$TMP/out" && ok ||
  bad "the action's log has the build's output"

# 3. A failing build phase: post_build still runs, the action fails naming BUILD.
pipeline failing "[
  {\"name\": \"Source\", \"actions\": [$(source_action Src app SourceOut SourceVariables)]},
  {\"name\": \"Build\", \"actions\": [{\"name\": \"Compile\",
    \"actionTypeId\": {\"category\": \"Build\", \"owner\": \"AWS\", \"provider\": \"CodeBuild\", \"version\": \"1\"},
    \"configuration\": {\"ProjectName\": \"app-build\", \"BuildspecOverride\":
      \"version: 0.2\\nphases:\\n  build:\\n    commands:\\n      - echo compiling\\n      - test 1 = 2\\n  post_build:\\n    commands:\\n      - echo post_build after failure \$CODEBUILD_BUILD_SUCCEEDING\\n\"},
    \"inputArtifacts\": [{\"name\": \"SourceOut\"}]}]}]" && ok || bad "create-pipeline failing"
wait_latest failing; exec2=$exec_id
[ "$st" = Failed ] && ok || bad "the failing pipeline fails: $st"
cp_ get-pipeline-state --name failing >"$TMP/out" 2>&1
msg=$(json 'd["stageStates"][1]["actionStates"][0]["latestExecution"]["errorDetails"]["message"]')
case "$msg" in *"Phase BUILD failed: COMMAND_EXECUTION_ERROR: Error while executing command: test 1 = 2. Reason: exit status 1"*) ok ;;
  *) bad "the action's error names the phase and command: $msg" ;; esac
failed_build=$(action_field failing Compile "a['output']['executionResult']['externalExecutionId']" "$exec2")
wait_build "$failed_build"
[ "$(json 'd["builds"][0]["buildStatus"]')" = FAILED ] &&
  [ "$(json '[p for p in d["builds"][0]["phases"] if p["phaseType"]=="BUILD"][0]["phaseStatus"]')" = FAILED ] &&
  [ "$(json '[p for p in d["builds"][0]["phases"] if p["phaseType"]=="POST_BUILD"][0]["phaseStatus"]')" = SUCCEEDED ] &&
  ok || bad "the failed build's BUILD phase FAILED and POST_BUILD still SUCCEEDED"
sl logs "$exec2" --pipeline-name failing --action Compile >"$TMP/out" 2>&1
grep -q "post_build after failure 0" "$TMP/out" && ok || bad "post_build ran with CODEBUILD_BUILD_SUCCEEDING=0"

# 4. Several inputs: PrimarySource and secondary artifacts.
mkdir -p "$TMP/lib"
printf 'const char* lib_name(void) { return "lib-1"; }\n' >"$TMP/lib/lib.c"
push_repo lib "$TMP/lib" && ok || bad "push the lib repository"
pipeline multi "[
  {\"name\": \"Source\", \"actions\": [$(source_action App app AppOut AppVars), $(source_action Lib lib LibOut LibVars)]},
  {\"name\": \"Build\", \"actions\": [{\"name\": \"Both\",
    \"actionTypeId\": {\"category\": \"Build\", \"owner\": \"AWS\", \"provider\": \"CodeBuild\", \"version\": \"1\"},
    \"configuration\": {\"ProjectName\": \"app-build\", \"PrimarySource\": \"AppOut\",
      \"EnvironmentVariables\": \"[{\\\"name\\\":\\\"FLAVOR\\\",\\\"value\\\":\\\"multi\\\",\\\"type\\\":\\\"PLAINTEXT\\\"}]\",
      \"BuildspecOverride\": \"version: 0.2\\nphases:\\n  build:\\n    commands:\\n      - test -f hello.c\\n      - cp \\\"\$CODEBUILD_SRC_DIR_LibOut/lib.c\\\" .\\n      - echo \$FLAVOR > flavor.txt\\nartifacts:\\n  files: [hello.c]\\n  secondary-artifacts:\\n    LibCopy:\\n      files: [lib.c, flavor.txt]\\n    AppCopy:\\n      files: [hello.c]\\n\"},
    \"inputArtifacts\": [{\"name\": \"LibOut\"}, {\"name\": \"AppOut\"}],
    \"outputArtifacts\": [{\"name\": \"AppCopy\"}, {\"name\": \"LibCopy\"}]}]},
  {\"name\": \"Check\", \"actions\": [{\"name\": \"Look\",
    \"actionTypeId\": {\"category\": \"Compute\", \"owner\": \"AWS\", \"provider\": \"Commands\", \"version\": \"1\"},
    \"commands\": [\"test -f hello.c\", \"test -f \$CODEBUILD_SRC_DIR_LibCopy/lib.c\", \"grep -q multi \$CODEBUILD_SRC_DIR_LibCopy/flavor.txt\"],
    \"inputArtifacts\": [{\"name\": \"AppCopy\"}, {\"name\": \"LibCopy\"}]}]}]" && ok || bad "create-pipeline multi"
wait_latest multi
[ "$st" = Succeeded ] && ok || { cp_ get-pipeline-state --name multi >"$TMP/out" 2>&1; bad "the multi-input pipeline succeeds: $st"; }

echo "codebuild: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
