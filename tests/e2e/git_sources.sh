#!/usr/bin/env bash
# End-to-end: git source actions against `stageline server`, driven by the
# real aws CLI and git. A self-managed "server" that is a directory of bare
# repositories is reached through aws codestar-connections create-host and
# create-connection; a seed-shaped pipeline (CodeStarSourceConnection source
# -> Commands build reading the files) runs, picks up a second commit on the
# next execution, fails with the URL when the remote is unreachable; a
# CodeCommit source reads a bare repository under DATA_DIR/git/codecommit.
# usage: tests/e2e/git_sources.sh path/to/stageline
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

# Change detection polls the repositories behind connections every second.
"$BIN" server --data-dir "$TMP/data" --listen "127.0.0.1:$PORT" --poll-interval 1 \
  >"$TMP/server.out" 2>"$TMP/server.err" &
server=$!
for _ in $(seq 1 100); do grep -q "listening" "$TMP/server.out" 2>/dev/null && break; sleep 0.1; done
grep -q "listening" "$TMP/server.out" || { echo "server did not start"; cat "$TMP/server.err"; exit 1; }

export AWS_SHARED_CREDENTIALS_FILE="$TMP/data/credentials" AWS_CONFIG_FILE=/dev/null
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE
EP=(--endpoint-url "http://127.0.0.1:$PORT" --region us-east-1)
cp_() { aws codepipeline "$@" "${EP[@]}"; }
cs() { aws codestar-connections "$@" "${EP[@]}"; }
json() { python3 -c "import json,sys; d=json.load(open('$TMP/out')); print($1)"; }
# git with a fixed identity and no user configuration.
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME="Ada Lovelace" GIT_AUTHOR_EMAIL=ada@example.com
export GIT_COMMITTER_NAME="Ada Lovelace" GIT_COMMITTER_EMAIL=ada@example.com

# Waits for the latest execution of pipeline $1 to end; leaves its id in
# $exec_id and its status in $st.
wait_latest() {
  st="" exec_id=""
  for _ in $(seq 1 150); do
    cp_ list-pipeline-executions --pipeline-name "$1" >"$TMP/out" 2>&1
    st=$(json 'd["pipelineExecutionSummaries"][0]["status"]' 2>/dev/null)
    [ "$st" = Succeeded ] || [ "$st" = Failed ] && break
    sleep 0.2
  done
  exec_id=$(json 'd["pipelineExecutionSummaries"][0]["pipelineExecutionId"]' 2>/dev/null)
}
# The output variable $3 of action $2 in execution $4 of pipeline $1.
variable() {
  cp_ list-action-executions --pipeline-name "$1" --filter "pipelineExecutionId=$4" >"$TMP/out" 2>&1
  json "[a for a in d['actionExecutionDetails'] if a['actionName']=='$2'][0]['output']['outputVariables'].get('$3','')"
}

# 0. The artifact bucket, through the server's S3 API.
aws s3 mb s3://git-artifacts "${EP[@]}" >"$TMP/out" 2>&1 && ok || bad "aws s3 mb of the artifact bucket"

# 1. A directory of bare repositories standing in for a self-managed server.
mkdir -p "$TMP/repos/team" && git init -q --bare -b main "$TMP/repos/team/app.git"
git init -q -b main "$TMP/work"
(
  cd "$TMP/work" && printf 'hello\n' >README.md && mkdir -p src && printf 'int x;\n' >src/x.c &&
    printf '#!/bin/sh\necho built\n' >build.sh && chmod 755 build.sh && ln -s src/x.c link.c &&
    git add -A && git commit -q -m "First commit" && git push -q "$TMP/repos/team/app.git" main
) >"$TMP/out" 2>&1 && ok || bad "make the upstream repository"
first=$(git -C "$TMP/work" rev-parse HEAD)

# 2. Host and connections with the aws CLI.
cs create-host --name local-git --provider-type GitLabSelfManaged \
  --provider-endpoint "$TMP/repos" >"$TMP/out" 2>&1 && ok || bad "create-host"
host_arn=$(json 'd["HostArn"]')
cs get-host --host-arn "$host_arn" >"$TMP/out" 2>&1
[ "$(json 'd["Status"]')" = AVAILABLE ] && ok || bad "get-host is AVAILABLE"
cs create-connection --connection-name local --host-arn "$host_arn" >"$TMP/out" 2>&1 && ok ||
  bad "create-connection with a host"
conn_arn=$(json 'd["ConnectionArn"]')
case "$conn_arn" in arn:aws:codestar-connections:us-east-1:*:connection/*) ok ;; *) bad "connection ARN: $conn_arn" ;; esac
cs get-connection --connection-arn "$conn_arn" >"$TMP/out" 2>&1
[ "$(json 'd["Connection"]["ConnectionStatus"]')" = AVAILABLE ] &&
  [ "$(json 'd["Connection"]["ProviderType"]')" = GitLabSelfManaged ] && ok || bad "get-connection"
cs create-connection --connection-name offline --provider-type GitHub \
  --tags Key=stageline:repository-base,Value=http://127.0.0.1:1 >"$TMP/out" 2>&1 && ok ||
  bad "create-connection with a repository-base tag"
offline_arn=$(json 'd["ConnectionArn"]')
cs list-connections >"$TMP/out" 2>&1
[ "$(json 'len(d["Connections"])')" = 2 ] && ok || bad "list-connections"
aws codeconnections get-connection --connection-arn "$conn_arn" "${EP[@]}" >"$TMP/out" 2>&1
[ "$(json 'd["Connection"]["ConnectionArn"]')" = "$conn_arn" ] && ok ||
  bad "codeconnections finds a codestar-connections connection"

# 3. A seed-shaped pipeline: the connection source, then a build reading the files.
pipeline() { # name, source action JSON
  cat >"$TMP/$1.json" <<JSON
{"pipeline": {"name": "$1", "roleArn": "arn:aws:iam::111122223333:role/pipeline",
 "artifactStore": {"type": "S3", "location": "git-artifacts"}, "pipelineType": "V2",
 "stages": [
  {"name": "Source", "actions": [$2]},
  {"name": "Build", "actions": [{"name": "Read",
    "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
    "commands": ["cat README.md", "test -x build.sh", "./build.sh", "test -L link.c", "test -f src/x.c",
                 "test ! -e .git", "echo commit #{SourceVariables.CommitId}"],
    "inputArtifacts": [{"name": "SourceOut"}]}]}]}}
JSON
  cp_ create-pipeline --cli-input-json "file://$TMP/$1.json" >"$TMP/out" 2>&1
}
connection_source() { # connection ARN
  echo "{\"name\": \"Src\", \"namespace\": \"SourceVariables\",
    \"actionTypeId\": {\"category\": \"Source\", \"owner\": \"AWS\", \"provider\": \"CodeStarSourceConnection\", \"version\": \"1\"},
    \"configuration\": {\"ConnectionArn\": \"$1\", \"FullRepositoryId\": \"team/app\", \"BranchName\": \"main\"},
    \"outputArtifacts\": [{\"name\": \"SourceOut\"}]}"
}
pipeline from-git "$(connection_source "$conn_arn")" && ok || bad "create-pipeline with a connection source"
wait_latest from-git; exec1=$exec_id
[ "$st" = Succeeded ] && ok || bad "the first execution succeeds: $st ($(cat "$TMP/server.err" | tail -3))"
[ "$(variable from-git Src CommitId "$exec1")" = "$first" ] && ok || bad "CommitId is the pushed commit"
[ "$(variable from-git Src ProviderType "$exec1")" = GitLabSelfManaged ] && ok || bad "ProviderType"
[ "$(variable from-git Src FullRepositoryName "$exec1")" = team/app ] && ok || bad "FullRepositoryName"
cp_ get-pipeline-execution --pipeline-name from-git --pipeline-execution-id "$exec1" >"$TMP/out" 2>&1
[ "$(json 'd["pipelineExecution"]["artifactRevisions"][0]["revisionId"]')" = "$first" ] && ok ||
  bad "artifactRevisions records the commit"
ls "$TMP/data/git/mirrors" | grep -q '^team-app-.*\.git$' && ok || bad "a mirror under DATA_DIR/git/mirrors"

# 4. A second commit: change detection (the server polls the repository)
#    starts the next execution on it, with trigger WebhookV2.
sleep 2  # at least one poll records the first commit as the branch's head
(
  cd "$TMP/work" && printf 'two\n' >>README.md && git commit -q -am "Second commit" &&
    git push -q "$TMP/repos/team/app.git" main
) >"$TMP/out" 2>&1
second=$(git -C "$TMP/work" rev-parse HEAD)
exec2=""
for _ in $(seq 1 100); do
  cp_ list-pipeline-executions --pipeline-name from-git >"$TMP/out" 2>&1
  exec2=$(json '[e["pipelineExecutionId"] for e in d["pipelineExecutionSummaries"] if e["trigger"]["triggerType"] == "WebhookV2"][:1]')
  [ "$exec2" != "[]" ] && break
  sleep 0.2
done
exec2=$(echo "$exec2" | tr -d "[]'")
[ -n "$exec2" ] && ok || bad "a new commit on the watched branch starts an execution (WebhookV2)"
for _ in $(seq 1 150); do
  cp_ get-pipeline-execution --pipeline-name from-git --pipeline-execution-id "$exec2" >"$TMP/out" 2>&1
  st=$(json 'd["pipelineExecution"]["status"]'); [ "$st" = Succeeded ] || [ "$st" = Failed ] && break; sleep 0.2
done
[ "$st" = Succeeded ] && [ "$(variable from-git Src CommitId "$exec2")" = "$second" ] && ok ||
  bad "the second execution builds the second commit: $st"
[ "$(variable from-git Src CommitMessage "$exec2")" = "Second commit" ] && ok || bad "CommitMessage"

# 5. A pin to the first commit through sourceRevisions.
cp_ start-pipeline-execution --name from-git \
  --source-revisions "actionName=Src,revisionType=COMMIT_ID,revisionValue=$first" >"$TMP/out" 2>&1
exec3=$(json 'd["pipelineExecutionId"]')
for _ in $(seq 1 150); do
  cp_ get-pipeline-execution --pipeline-name from-git --pipeline-execution-id "$exec3" >"$TMP/out" 2>&1
  st=$(json 'd["pipelineExecution"]["status"]'); [ "$st" = Succeeded ] || [ "$st" = Failed ] && break; sleep 0.2
done
[ "$st" = Succeeded ] && [ "$(variable from-git Src CommitId "$exec3")" = "$first" ] && ok ||
  bad "a COMMIT_ID pin builds the pinned commit: $st"

# 6. An unreachable remote fails the source action with the URL.
pipeline offline "$(connection_source "$offline_arn")" && ok || bad "create-pipeline offline"
wait_latest offline
[ "$st" = Failed ] && ok || bad "the offline execution fails: $st"
cp_ get-pipeline-state --name offline >"$TMP/out" 2>&1
msg=$(json 'd["stageStates"][0]["actionStates"][0]["latestExecution"]["errorDetails"]["message"]')
case "$msg" in *"http://127.0.0.1:1/team/app"*) ok ;; *) bad "the failure names the URL: $msg" ;; esac

# 7. CodeCommit: a bare repository where the server hosts them.
mkdir -p "$TMP/data/git/codecommit"
git clone -q --bare "$TMP/repos/team/app.git" "$TMP/data/git/codecommit/hosted.git"
pipeline from-codecommit '{"name": "Src", "namespace": "SourceVariables",
  "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeCommit", "version": "1"},
  "configuration": {"RepositoryName": "hosted", "BranchName": "main", "PollForSourceChanges": "false"},
  "outputArtifacts": [{"name": "SourceOut"}]}' && ok || bad "create-pipeline with a CodeCommit source"
wait_latest from-codecommit; exec4=$exec_id
[ "$st" = Succeeded ] && ok || bad "the CodeCommit execution succeeds: $st"
[ "$(variable from-codecommit Src RepositoryName "$exec4")" = hosted ] &&
  [ "$(variable from-codecommit Src CommitId "$exec4")" = "$second" ] && ok || bad "CodeCommit variables"

echo "git_sources: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
