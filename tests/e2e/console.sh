#!/usr/bin/env bash
# End-to-end: the web console (web/, served by `stageline server` at /console/)
# in Debian's chromium, driven by playwright-core (tests/e2e/console/test.mjs),
# against a real server. The aws CLI and git set up what the seed describes: a
# CodeCommit repository, a CodeBuild project and the seed-shaped pipeline
# `seed` (Source CodeCommit -> Build CodeBuild -> Approval Manual -> Deploy S3),
# plus `flaky`, whose Test stage fails while a marker file is missing. The
# browser then signs in (and fails to with a wrong secret), starts `seed` from
# its page and watches it live, approves it, disables and enables a
# transition, retries the failed stage of `flaky`, checks the CSRF token and
# deep links with the back button, and writes screenshots.
#
# Needs node >= 20, npm and /usr/bin/chromium (Debian: nodejs, npm, chromium).
# playwright-core is installed from the lock file into
# tests/e2e/console/node_modules when missing or stale (this needs the npm
# registry once); the browser itself only talks to 127.0.0.1.
#
# usage: tests/e2e/console.sh path/to/stageline
#   CONSOLE_DIR=web      serve the console from that folder (--console-dir)
#                        instead of the copy embedded in the binary
#   SCREENSHOT_DIR=DIR   where the screenshots go (default: console-screenshots/
#                        beside the binary, e.g. build-asan/console-screenshots/)
#   KEEP=1               keep the server's temp directory
set -uo pipefail
[ $# -eq 1 ] || { echo "usage: $0 path/to/stageline" >&2; exit 2; }
BIN=$(realpath "$1")
cd "$(dirname "$0")/../.."
ROOT=$PWD
DIR=$ROOT/tests/e2e/console
SHOTS=${SCREENSHOT_DIR:-$(dirname "$BIN")/console-screenshots}
setup_failed() { echo "FAIL $1"; echo "console e2e: 0 passed, 1 failed"; exit 1; }

command -v node >/dev/null && command -v npm >/dev/null || setup_failed "node and npm are installed"
[ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ] || setup_failed "node is version 20 or later (this is $(node -v))"
[ -x /usr/bin/chromium ] || setup_failed "/usr/bin/chromium is installed (Debian package chromium; ./x test installs it)"
[ -x "$BIN" ] || setup_failed "$BIN is an executable"

# npm ci only when node_modules is missing or was installed from another lock file.
stamp=$DIR/node_modules/.stageline-lock.sha256
want=$(sha256sum "$DIR/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  (cd "$DIR" && npm ci --no-audit --no-fund --loglevel=error) || setup_failed "npm ci in tests/e2e/console"
  echo "$want" >"$stamp"
fi

. tests/e2e/lib.sh
bad() {
  echo "FAIL $1"
  sed 's/^/    /' "$TMP/out" 2>/dev/null | head -30
  echo "    --- server log"; tail -20 "$TMP/server.err" | sed 's/^/    /'
  fails=$((fails + 1))
}
if [ -n "${CONSOLE_DIR:-}" ]; then
  start_server --console-dir "$(realpath "$CONSOLE_DIR")"
else
  start_server
fi
aws_env
git_env
EP=(--endpoint-url "http://127.0.0.1:$PORT" --region us-east-1)
cp_() { aws codepipeline "$@" "${EP[@]}" >"$TMP/out" 2>&1; }
HELPER="!'$BIN' repo credential --data-dir '$TMP/data'"
git_auth() { git -c credential.helper= -c "credential.helper=$HELPER" "$@"; }
MARKER=$TMP/flaky-marker

# Prints the status of the latest execution of pipeline $1 once it is not
# InProgress (at most 60 s), or once python expression $2 over
# get-pipeline-state is true.
wait_latest() {
  for _ in $(seq 1 300); do
    if [ -n "${2:-}" ]; then
      cp_ get-pipeline-state --name "$1"
      [ "$(json "$2" 2>/dev/null)" = True ] && { echo ok; return 0; }
    else
      cp_ list-pipeline-executions --pipeline-name "$1" --max-results 1
      local s
      s=$(json 'd["pipelineExecutionSummaries"][0]["status"]' 2>/dev/null)
      case "$s" in Succeeded | Failed | Stopped | Superseded) echo "$s"; return 0 ;; esac
    fi
    sleep 0.2
  done
  echo timeout
}

# 1. What the seed-shaped pipeline needs, made as on AWS.
aws s3 mb s3://console-artifacts "${EP[@]}" >"$TMP/out" 2>&1 && aws s3 mb s3://console-site "${EP[@]}" >>"$TMP/out" 2>&1 &&
  ok || bad "aws s3 mb of the artifact and site buckets"
aws codecommit create-repository --repository-name shop --repository-description "The shop" "${EP[@]}" >"$TMP/out" 2>&1 &&
  ok || bad "create-repository"
url=$(json 'd["repositoryMetadata"]["cloneUrlHttp"]')
aws codebuild create-project --name shop-build --source type=CODEPIPELINE --artifacts type=CODEPIPELINE \
  --environment type=LINUX_CONTAINER,image=aws/codebuild/standard:7.0,computeType=BUILD_GENERAL1_SMALL \
  --service-role arn:aws:iam::111122223333:role/codebuild "${EP[@]}" >"$TMP/out" 2>&1 && ok || bad "create-project"
# CodeDeploy: one on-premises instance, a directory of this machine.
codedeploy_group shop web web-1 && ok || bad "a CodeDeploy application, deployment group and on-premises instance"
cat >"$TMP/seed.json" <<JSON
{"pipeline": {"name": "seed", "roleArn": "arn:aws:iam::111122223333:role/pipeline", "pipelineType": "V2",
 "executionMode": "QUEUED",
 "artifactStore": {"type": "S3", "location": "console-artifacts"},
 "variables": [{"name": "Environment", "defaultValue": "staging", "description": "Where the release goes"}],
 "stages": [
  {"name": "Source", "actions": [{"name": "Source",
    "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeCommit", "version": "1"},
    "configuration": {"RepositoryName": "shop", "BranchName": "main", "PollForSourceChanges": "false"},
    "outputArtifacts": [{"name": "SourceOut"}], "namespace": "SourceVariables"}]},
  {"name": "Build", "actions": [{"name": "Build",
    "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
    "configuration": {"ProjectName": "shop-build"},
    "inputArtifacts": [{"name": "SourceOut"}], "outputArtifacts": [{"name": "Site"}], "namespace": "BuildVariables"}]},
  {"name": "Approval", "actions": [{"name": "ManualApproval",
    "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"},
    "configuration": {"CustomData": "Release #{BuildVariables.VERSION} to #{variables.Environment}?",
                      "ExternalEntityLink": "https://example.com/release-notes"}}]},
  {"name": "Deploy", "actions": [{"name": "Publish",
    "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "S3", "version": "1"},
    "configuration": {"BucketName": "console-site", "Extract": "true"},
    "inputArtifacts": [{"name": "Site"}]},
   {"name": "Ship",
    "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "CodeDeploy", "version": "1"},
    "configuration": {"ApplicationName": "shop", "DeploymentGroupName": "web"},
    "inputArtifacts": [{"name": "Site"}]}]}]}}
JSON
cat >"$TMP/flaky.json" <<JSON
{"pipeline": {"name": "flaky", "roleArn": "arn:aws:iam::111122223333:role/pipeline", "pipelineType": "V2",
 "executionMode": "QUEUED",
 "artifactStore": {"type": "S3", "location": "console-artifacts"},
 "stages": [
  {"name": "Source", "actions": [{"name": "Source",
    "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeCommit", "version": "1"},
    "configuration": {"RepositoryName": "shop", "BranchName": "main", "PollForSourceChanges": "false"},
    "outputArtifacts": [{"name": "SourceOut"}]}]},
  {"name": "Test", "actions": [{"name": "CheckMarker",
    "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
    "inputArtifacts": [{"name": "SourceOut"}],
    "commands": ["echo checking for the marker", "test -f '$MARKER'", "echo the marker is there"]}]}]}}
JSON
cp_ create-pipeline --cli-input-json "file://$TMP/seed.json" && ok || bad "create-pipeline seed"
cp_ create-pipeline --cli-input-json "file://$TMP/flaky.json" && ok || bad "create-pipeline flaky"
# The executions CreatePipeline started fail at the source: the repository is empty.
[ "$(wait_latest seed)" = Failed ] && [ "$(wait_latest flaky)" = Failed ] && ok ||
  bad "the first executions fail on the empty repository"

# 2. A push: `seed` builds it and waits at the approval, which is rejected
# here (so the browser starts the next execution itself); `flaky` fails.
git init -q -b main "$TMP/work"
mkdir -p "$TMP/work/site"
echo '<h1>shop @VERSION@</h1>' >"$TMP/work/site/index.html.in"
echo 1.4 >"$TMP/work/VERSION"
cat >"$TMP/work/buildspec.yml" <<'YAML'
version: 0.2
env:
  exported-variables: [VERSION]
phases:
  install:
    commands:
      - echo "installing nothing"
  build:
    commands:
      - VERSION=$(cat VERSION)
      - echo "building the shop $VERSION"
      - echo "waiting for the gate"
      - if [ -f '@GATE@/hold' ]; then for i in $(seq 1 600); do [ -f '@GATE@/release' ] && break; sleep 0.1; done; fi
      - sleep 1
      - mkdir -p out && sed "s/@VERSION@/$VERSION/" site/index.html.in > out/index.html
      - cp -r appspec.yml scripts out/
      - echo "built the shop $VERSION"
artifacts:
  base-directory: out
  files: ['**/*']
YAML
mkdir -p "$TMP/work/scripts"
cat >"$TMP/work/appspec.yml" <<'YAML'
version: 0.0
os: linux
files:
  - source: index.html
    destination: /srv/shop
hooks:
  ValidateService:
    - location: scripts/check.sh
YAML
printf '#!/bin/sh\necho "checked $LIFECYCLE_EVENT on $STAGELINE_INSTANCE_NAME"\n' >"$TMP/work/scripts/check.sh"
chmod 755 "$TMP/work/scripts/check.sh"
# The browser holds a build while it watches it (test.mjs creates hold, then release).
GATE=$TMP/gate
mkdir -p "$GATE"
sed -i "s|@GATE@|$GATE|g" "$TMP/work/buildspec.yml"
git -C "$TMP/work" add -A && git -C "$TMP/work" commit -qm "Shop 1.4: the spring sale"
git_auth -C "$TMP/work" push -q "$url" main >"$TMP/out" 2>&1 && ok || bad "git push"
WAITING='any(s["stageName"] == "Approval" and s["actionStates"][0].get("latestExecution", {}).get("status") == "InProgress" and "token" in s["actionStates"][0]["latestExecution"] for s in d["stageStates"])'
[ "$(wait_latest seed "$WAITING")" = ok ] && ok || bad "the push builds seed and waits at the approval"
token=$(json '[s for s in d["stageStates"] if s["stageName"] == "Approval"][0]["actionStates"][0]["latestExecution"]["token"]' 2>/dev/null)
cp_ put-approval-result --pipeline-name seed --stage-name Approval --action-name ManualApproval \
  --result "summary=Not this one,status=Rejected" --token "$token" && ok || bad "reject the push's execution"
[ "$(wait_latest seed)" = Failed ] && ok || bad "the rejected execution fails"
[ "$(wait_latest flaky)" = Failed ] && ok || bad "flaky fails at its Test stage without the marker"
# `gated` waits at an approval whose link is not a web address: the console
# must show it as text, never as a link a click would run.
cat >"$TMP/gated.json" <<JSON
{"pipeline": {"name": "gated", "roleArn": "arn:aws:iam::111122223333:role/pipeline", "pipelineType": "V2",
 "artifactStore": {"type": "S3", "location": "console-artifacts"},
 "stages": [
  {"name": "Source", "actions": [{"name": "Source",
    "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeCommit", "version": "1"},
    "configuration": {"RepositoryName": "shop", "BranchName": "main", "PollForSourceChanges": "false"},
    "outputArtifacts": [{"name": "SourceOut"}]}]},
  {"name": "Gate", "actions": [{"name": "Review",
    "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"},
    "configuration": {"CustomData": "Look first", "ExternalEntityLink": "javascript:alert(document.domain)"}}]}]}}
JSON
cp_ create-pipeline --cli-input-json "file://$TMP/gated.json" && ok || bad "create-pipeline gated"

# 3. The browser.
mkdir -p "$SHOTS" && rm -f "$SHOTS"/failed-check-*.png  # a failure of an earlier run misleads
# The files over plain HTTP: a browser at the root is sent to the console, and
# a file is revalidated by its ETag (304, no body) until it changes.
C="http://127.0.0.1:$PORT"
curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -H 'Accept: text/html' "$C/" >"$TMP/out"
[ "$(cat "$TMP/out")" = "302 $C/console/" ] && ok || bad "a browser opening / is sent to /console/"
etag=$(curl -s -D - -o /dev/null "$C/console/app.js" | tr -d '\r' | sed -n 's/^ETag: //Ip')
curl -s -o "$TMP/body" -w '%{http_code}' -H "If-None-Match: $etag" "$C/console/app.js" >"$TMP/out"
[ -n "$etag" ] && [ "$(cat "$TMP/out")" = 304 ] && [ ! -s "$TMP/body" ] && ok ||
  bad "app.js is revalidated with its ETag ($etag): 304 and no body"
curl -s -o /dev/null -w '%{http_code}' -H 'If-None-Match: "stale"' "$C/console/app.js" >"$TMP/out"
[ "$(cat "$TMP/out")" = 200 ] && ok || bad "another ETag gets the file"
curl -s -o /dev/null -w '%{http_code}' "$C/console/..%2Fcredentials" >"$TMP/out"
[ "$(cat "$TMP/out")" = 404 ] && ok || bad "a path out of the console's files is 404"

: >"$TMP/results"
export STAGELINE_CONSOLE="http://127.0.0.1:$PORT/console/" STAGELINE_ENDPOINT="http://127.0.0.1:$PORT"
export STAGELINE_CREDENTIALS="$TMP/data/credentials" STAGELINE_RESULTS="$TMP/results"
export STAGELINE_MARKER="$MARKER" STAGELINE_GATE="$GATE" SCREENSHOT_DIR="$SHOTS" AWS_ENDPOINT_ARGS="${EP[*]}"
timeout 240 node "$DIR/test.mjs"
rc=$?
if read -r p f <"$TMP/results" && [ -n "$p" ]; then
  passes=$((passes + p)) fails=$((fails + f))
else
  echo "FAIL node test.mjs ran to its end (exit status $rc; 124 is the 240 s timeout)"
  fails=$((fails + 1))
fi
if [ "$rc" -ne 0 ]; then
  echo "server log (stderr, last 30 lines):"
  tail -30 "$TMP/server.err" | sed 's/^/    /'
fi
echo "screenshots: $SHOTS"

# SIGTERM stops the server cleanly (under the sanitizers a leak makes it non-zero).
kill -TERM "$server"
wait "$server"
src=$?
server=""
[ "$src" -eq 0 ] && ok || { echo "FAIL SIGTERM stops the server with exit status 0 (got $src)"; fails=$((fails + 1)); }

# A session outlives a restart (kept in the store by its token's hash).
start_server
C="http://127.0.0.1:$PORT"
key_id=$(awk -F' *= *' '/aws_access_key_id/{print $2}' "$TMP/data/credentials")
key_secret=$(awk -F' *= *' '/aws_secret_access_key/{print $2}' "$TMP/data/credentials")
curl -s -c "$TMP/jar" -H 'Content-Type: application/json' \
  -d "{\"accessKeyId\":\"$key_id\",\"secretAccessKey\":\"$key_secret\"}" "$C/console/session" >"$TMP/out"
csrf=$(json 'd["csrfToken"]')
stop_server
start_server
curl -s -b "$TMP/jar" -o "$TMP/out" -w '%{http_code}' "$C/console/session" >"$TMP/code"
[ "$(cat "$TMP/code")" = 200 ] && [ "$(json 'd["csrfToken"]')" = "$csrf" ] && ok ||
  bad "a session signed in before a restart is still signed in after it, with its CSRF token"
curl -s -b "$TMP/jar" -o /dev/null -w '%{http_code}' -X DELETE -H "X-CSRF-Token: $csrf" "$C/console/session" >"$TMP/code"
curl -s -b "$TMP/jar" -o "$TMP/out" -w '%{http_code}' "$C/console/session" >>"$TMP/code"
[ "$(cat "$TMP/code")" = 204401 ] && ok || bad "signing out after the restart ends it (204, then 401)"
finish "console e2e"
