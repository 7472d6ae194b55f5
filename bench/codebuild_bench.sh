#!/usr/bin/env bash
# CodeBuild overhead on this machine, through a real `stageline server` and
# the aws CLI:
#   (1) latency from a pipeline CodeBuild action's start (its action
#       execution's startTime) and from its build's start (the Build's
#       startTime) to the first buildspec command (which prints the clock);
#       the action takes a one-file CodeCommit source as input, so the time
#       includes fetching and unzipping it;
#   (2) the BUILD phase of a standalone build of 100 trivial commands
#       (`true`, then `/bin/true`), beside the same 100 commands as one plain
#       bash script (the floor: no per-command bookkeeping).
# usage: bench/codebuild_bench.sh [path/to/stageline] [runs]
set -euo pipefail
BIN=$(realpath "${1:-build/stageline}")
RUNS=${2:-3}
TMP=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
"$BIN" server --data-dir "$TMP/data" --listen "127.0.0.1:$PORT" >"$TMP/server.out" 2>"$TMP/server.err" &
server=$!
for _ in $(seq 1 100); do grep -q "listening" "$TMP/server.out" 2>/dev/null && break; sleep 0.1; done
export AWS_SHARED_CREDENTIALS_FILE="$TMP/data/credentials" AWS_CONFIG_FILE=/dev/null
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE
export HOME="$TMP/home" GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0
mkdir -p "$HOME"
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
EP=(--endpoint-url "http://127.0.0.1:$PORT" --region us-east-1)
ENVIRONMENT="type=LINUX_CONTAINER,image=aws/codebuild/standard:7.0,computeType=BUILD_GENERAL1_SMALL"
ROLE=arn:aws:iam::111122223333:role/codebuild

# (1) The source repository, the bucket, the project and the pipeline.
aws codecommit create-repository --repository-name src "${EP[@]}" >/dev/null
mkdir -p "$TMP/src" && cd "$TMP/src" && git init -q -b main && echo x >file && cat >buildspec.yml <<YAML
version: 0.2
phases:
  build:
    commands:
      - date +%s.%N > "$TMP/first-command-\$CODEBUILD_BUILD_NUMBER"
YAML
git add -A && git commit -q -m bench
git -c credential.helper= -c "credential.helper=!'$BIN' repo credential --data-dir '$TMP/data'" \
  push -q "http://127.0.0.1:$PORT/v1/repos/src" main
cd - >/dev/null
aws s3 mb s3://bench-artifacts "${EP[@]}" >/dev/null
aws codebuild create-project --name bench --source type=CODEPIPELINE --artifacts type=CODEPIPELINE \
  --environment "$ENVIRONMENT" --service-role "$ROLE" "${EP[@]}" >/dev/null
cat >"$TMP/pipeline.json" <<JSON
{"pipeline": {"name": "bench", "roleArn": "arn:aws:iam::111122223333:role/p",
 "artifactStore": {"type": "S3", "location": "bench-artifacts"}, "pipelineType": "V2",
 "stages": [
  {"name": "Source", "actions": [{"name": "Src",
    "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeCommit", "version": "1"},
    "configuration": {"RepositoryName": "src", "BranchName": "main", "PollForSourceChanges": "false"},
    "outputArtifacts": [{"name": "SourceOut"}]}]},
  {"name": "Build", "actions": [{"name": "Build",
    "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
    "configuration": {"ProjectName": "bench"}, "inputArtifacts": [{"name": "SourceOut"}]}]}]}}
JSON
aws codepipeline create-pipeline --cli-input-json "file://$TMP/pipeline.json" "${EP[@]}" >/dev/null
wait_latest() {
  for _ in $(seq 1 600); do
    aws codepipeline list-pipeline-executions --pipeline-name bench "${EP[@]}" >"$TMP/execs"
    st=$(python3 -c "import json; print(json.load(open('$TMP/execs'))['pipelineExecutionSummaries'][0]['status'])")
    [ "$st" = Succeeded ] && return 0
    [ "$st" = Failed ] && { echo "pipeline failed"; exit 1; }
    sleep 0.1
  done
}
echo "(1) CodeBuild action start -> first buildspec command"
for run in $(seq 1 "$RUNS"); do
  if [ "$run" -gt 1 ]; then
    aws codepipeline start-pipeline-execution --name bench "${EP[@]}" >/dev/null
    sleep 0.3
  fi
  wait_latest
  exec_id=$(python3 -c "import json; print(json.load(open('$TMP/execs'))['pipelineExecutionSummaries'][0]['pipelineExecutionId'])")
  aws codepipeline list-action-executions --pipeline-name bench --filter "pipelineExecutionId=$exec_id" \
    "${EP[@]}" --output json >"$TMP/actions"
  build_id=$(python3 -c "import json; print([a for a in json.load(open('$TMP/actions'))['actionExecutionDetails'] if a['actionName']=='Build'][0]['output']['executionResult']['externalExecutionId'])")
  aws codebuild batch-get-builds --ids "$build_id" "${EP[@]}" --output json >"$TMP/build"
  python3 - "$TMP" <<'PY'
import datetime, json, sys
tmp = sys.argv[1]
def ts(v):
    return v if isinstance(v, (int, float)) else datetime.datetime.fromisoformat(v).timestamp()
a = [a for a in json.load(open(tmp + "/actions"))["actionExecutionDetails"] if a["actionName"] == "Build"][0]
b = json.load(open(tmp + "/build"))["builds"][0]
first = float(open("%s/first-command-%d" % (tmp, b["buildNumber"])).read())
print("  build %d: action start -> first command %.1f ms; build start -> first command %.1f ms"
      % (b["buildNumber"], (first - ts(a["startTime"])) * 1000, (first - ts(b["startTime"])) * 1000))
PY
done

# (2) 100 trivial commands: a standalone build beside a plain bash script.
bench_commands() { # label, command
  python3 - "$2" >"$TMP/solo.json" <<'PY'
import json, sys
spec = "version: 0.2\nphases:\n  build:\n    commands:\n" + "".join("      - %s\n" % sys.argv[1] for _ in range(100))
print(json.dumps({"name": "solo", "source": {"type": "NO_SOURCE", "buildspec": spec},
                  "artifacts": {"type": "NO_ARTIFACTS"}, "serviceRole": "r",
                  "environment": {"type": "LINUX_CONTAINER", "image": "i", "computeType": "BUILD_GENERAL1_SMALL"}}))
PY
  aws codebuild delete-project --name solo "${EP[@]}" >/dev/null
  aws codebuild create-project --cli-input-json "file://$TMP/solo.json" "${EP[@]}" >/dev/null
  for _ in $(seq 1 100); do echo "$2"; done >"$TMP/plain.sh"
  echo "(2) 100 x '$2'"
  for run in $(seq 1 "$RUNS"); do
    id=$(aws codebuild start-build --project-name solo "${EP[@]}" --query build.id --output text)
    for _ in $(seq 1 600); do
      aws codebuild batch-get-builds --ids "$id" "${EP[@]}" --output json >"$TMP/build"
      python3 -c "import json,sys; sys.exit(0 if json.load(open('$TMP/build'))['builds'][0]['buildComplete'] else 1)" && break
      sleep 0.1
    done
    plain=$(python3 -c "
import subprocess, time
t = time.perf_counter(); subprocess.run(['bash', '$TMP/plain.sh'], check=True); print('%.1f' % ((time.perf_counter() - t) * 1000))")
    python3 - "$TMP/build" "$plain" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))["builds"][0]
p = [p for p in b["phases"] if p["phaseType"] == "BUILD"][0]
total = (b["endTime"] - b["startTime"]) * 1000
print("  BUILD phase %.1f ms (%s), whole build %.1f ms; plain bash script %s ms"
      % ((p["endTime"] - p["startTime"]) * 1000, p["phaseStatus"], total, sys.argv[2]))
PY
  done
}
bench_commands builtin true
bench_commands external /bin/true
