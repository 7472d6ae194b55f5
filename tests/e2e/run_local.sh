#!/usr/bin/env bash
# End-to-end: `stageline run` executes real pipelines with real processes.
# usage: tests/e2e/run_local.sh path/to/stageline
set -uo pipefail
BIN=$(realpath "$1")
cd "$(dirname "$0")/../.."
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0 passes=0
ok() { passes=$((passes + 1)); }
bad() { echo "FAIL $1"; sed 's/^/    /' "$TMP/out" | head -40; fails=$((fails + 1)); }

# 1. The example runs green: source from a directory, a build, parallel tests.
"$BIN" run examples/run-locally.yaml --source App=examples/hello --data-dir "$TMP/data" >"$TMP/out" 2>&1
[ $? -eq 0 ] && ok || bad "example run exits 0"
grep -q "Succeeded in" "$TMP/out" && grep -q "Smoke | hello from the pipeline" "$TMP/out" &&
  grep -q "tested version 1.0.2" "$TMP/out" && ok || bad "example run output"
[ -f "$TMP/data/stageline.db" ] && ok || bad "--data-dir keeps the store"

# 2. Running again on the same data directory keeps version 1; a changed
#    definition is stored as version 2.
"$BIN" run examples/run-locally.yaml --source App=examples/hello --data-dir "$TMP/data" >"$TMP/out" 2>&1
grep -q "(version 1) started" "$TMP/out" && ok || bad "the same definition stays version 1"
sed 's/defaultValue: hello/defaultValue: hi/' examples/run-locally.yaml >"$TMP/changed.yaml"
"$BIN" run "$TMP/changed.yaml" --source App=examples/hello --data-dir "$TMP/data" >"$TMP/out" 2>&1
grep -q "(version 2) started" "$TMP/out" && ok || bad "a changed definition is version 2"

# 3. A failing command fails the run with exit 1 and names the command.
sed 's/test -x out\/hello/test -x out\/missing/' examples/run-locally.yaml >"$TMP/failing.yaml"
"$BIN" run "$TMP/failing.yaml" --source App=examples/hello >"$TMP/out" 2>&1
[ $? -eq 1 ] && ok || bad "failing run exits 1"
grep -q "Command 'test -x out/missing' exited with code 1" "$TMP/out" && ok || bad "failed command named"

# 4. A source action without --source says how to supply one.
"$BIN" run examples/run-locally.yaml >"$TMP/out" 2>&1
[ $? -eq 1 ] && grep -q -- "--source App=PATH" "$TMP/out" && ok || bad "missing --source is explained"

# 5. A required variable, an invalid definition and an unreadable file.
"$BIN" run examples/run-locally.yaml --source App=examples/hello --variable Nope=1 >"$TMP/out" 2>&1
[ $? -eq 1 ] && grep -q "'Nope' is not declared" "$TMP/out" && ok || bad "unknown variable refused"
"$BIN" run examples/seed-pipeline-misspelled.yaml >"$TMP/out" 2>&1
[ $? -eq 1 ] && grep -q "BuildOutput" "$TMP/out" && ok || bad "invalid definition refused"
"$BIN" run "$TMP/nope.yaml" >"$TMP/out" 2>&1
[ $? -eq 2 ] && ok || bad "missing file exits 2"

# 6. The temporary data directory is removed afterwards.
before=$(ls -d /tmp/stageline-run-* 2>/dev/null | wc -l)
"$BIN" run examples/run-locally.yaml --source App=examples/hello >"$TMP/out" 2>&1
after=$(ls -d /tmp/stageline-run-* 2>/dev/null | wc -l)
[ "$before" -eq "$after" ] && ok || bad "temporary data directory removed"

# 7. Manual approvals: answered with --approve / --reject, or failed saying how to answer.
cat >"$TMP/approval.yaml" <<'YAML'
pipeline:
  name: approval
  roleArn: arn:aws:iam::123456789012:role/R
  artifactStore: {type: S3, location: approval-artifacts}
  pipelineType: V2
  stages:
    - name: Source
      actions:
        - name: App
          actionTypeId: {category: Source, owner: AWS, provider: CodeCommit, version: "1"}
          configuration: {RepositoryName: hello, BranchName: main}
          outputArtifacts: [{name: Code}]
    - name: Release
      actions:
        - name: Approve
          runOrder: 1
          actionTypeId: {category: Approval, owner: AWS, provider: Manual, version: "1"}
          configuration: {CustomData: "ship it?"}
        - name: Ship
          runOrder: 2
          actionTypeId: {category: Compute, owner: AWS, provider: Commands, version: "1"}
          inputArtifacts: [{name: Code}]
          commands: ["echo shipped"]
YAML
"$BIN" run "$TMP/approval.yaml" --source App=examples/hello --approve >"$TMP/out" 2>&1
[ $? -eq 0 ] && grep -q "Approved by .* with stageline run --approve (ship it?)" "$TMP/out" &&
  grep -q "Ship | shipped" "$TMP/out" && ok || bad "--approve lets the release through"
"$BIN" run "$TMP/approval.yaml" --source App=examples/hello --reject >"$TMP/out" 2>&1
[ $? -eq 1 ] && grep -q "Rejected by" "$TMP/out" && ! grep -q "Ship | shipped" "$TMP/out" && ok ||
  bad "--reject stops the release"
"$BIN" run "$TMP/approval.yaml" --source App=examples/hello </dev/null >"$TMP/out" 2>&1
[ $? -eq 1 ] && grep -q -- "needs an answer: run again with --approve or --reject" "$TMP/out" && ok ||
  bad "an unanswered approval says how to answer it"
# On a terminal (script(1) gives it one) the run asks, and asks again until
# the answer is one it understands.
printf 'maybe\ny fine by me\n' | script -qec "'$BIN' run '$TMP/approval.yaml' --source App=examples/hello" \
  /dev/null >"$TMP/out" 2>&1
[ $? -eq 0 ] && grep -q "Approval needed: pipeline .*, stage .*, action " "$TMP/out" &&
  grep -q "Answer y or n" "$TMP/out" && grep -q "Approved by .*: fine by me" "$TMP/out" &&
  grep -q "Ship | shipped" "$TMP/out" && ok || bad "an approval asked on the terminal and approved"
printf 'reject not now\n' | script -qec "'$BIN' run '$TMP/approval.yaml' --source App=examples/hello" \
  /dev/null >"$TMP/out" 2>&1
[ $? -eq 1 ] && grep -q "Rejected by .*: not now" "$TMP/out" && ! grep -q "Ship | shipped" "$TMP/out" &&
  ok || bad "an approval asked on the terminal and rejected"

# 7b. A whole template: its AWS::CodeBuild::Project and AWS::S3::Bucket are
# made in the run's data directory; CodeBuild builds, the S3 deploy stores the
# binary; a second run updates the project from changed parameters.
"$BIN" run examples/local-build.template.yaml --source App=examples/hello --data-dir "$TMP/lb" \
  </dev/null >"$TMP/out" 2>&1
[ $? -eq 0 ] && grep -q "Compile | hello from the pipeline" "$TMP/out" && grep -q "built for hello" "$TMP/out" &&
  grep -q "Deployed Binary to s3://local-build-releases/hello-20[0-9-]*.zip" "$TMP/out" &&
  ls "$TMP/lb/objects/local-build-releases" >/dev/null 2>&1 && ok ||
  bad "a template's CodeBuild project and bucket are made and used by stageline run"
"$BIN" run examples/local-build.template.yaml --source App=examples/hello --data-dir "$TMP/lb" \
  --parameter-overrides Greeting=bonjour </dev/null >"$TMP/out" 2>&1
[ $? -eq 0 ] && grep -q "built for bonjour" "$TMP/out" && ok || bad "a second run updates the template's project"

# 8. Ctrl-C (SIGINT) stops the run and the actions' own process groups: no orphans.
sed 's/test -x out\/hello/sleep 31.7/' examples/run-locally.yaml >"$TMP/slow.yaml"
"$BIN" run "$TMP/slow.yaml" --source App=examples/hello >"$TMP/out" 2>&1 &
runner=$!
for _ in $(seq 1 100); do pgrep -f "sleep 31.7" >/dev/null && break; sleep 0.1; done
kill -INT "$runner"
wait "$runner"
rc=$?
[ "$rc" -eq 130 ] && grep -q "interrupted" "$TMP/out" && ok || bad "SIGINT ends the run with 130 (got $rc)"
for _ in $(seq 1 100); do pgrep -f "sleep 31.7" >/dev/null || break; sleep 0.1; done
pgrep -f "sleep 31.7" >/dev/null && bad "an action's process outlived the run" || ok

# 9. Stage conditions: an on-success Commands rule, an entry VariableCheck
#    that skips Deploy, and an automatic rollback to the last good execution.
"$BIN" run examples/conditions.yaml --source App=examples/hello --data-dir "$TMP/cond" >"$TMP/out" 2>&1
[ $? -eq 0 ] && grep -q "Build/rule RunsAndGreets (Commands) Succeeded" "$TMP/out" &&
  grep -q "Deploy Skipped: its entry condition was not met" "$TMP/out" &&
  ! grep -q "Ship | shipping" "$TMP/out" && ok || bad "entry condition skips Deploy"
"$BIN" run examples/conditions.yaml --source App=examples/hello --data-dir "$TMP/cond" \
  --variable Env=prod >"$TMP/out" 2>&1
[ $? -eq 0 ] && grep -q "Ship | shipping v1" "$TMP/out" && ok || bad "prod enters Deploy"
"$BIN" run examples/conditions.yaml --source App=examples/hello --data-dir "$TMP/cond" \
  --variable Env=prod --variable Release=broken >"$TMP/out" 2>&1
[ $? -eq 1 ] && grep -q "Ship | shipping broken" "$TMP/out" &&
  grep -q "Rollback execution .* of stage Deploy to execution" "$TMP/out" &&
  grep -q "Ship | shipping v1" "$TMP/out" && ok || bad "a failed Deploy rolls back to v1"
rollback=$(sqlite3 "$TMP/cond/stageline.db" \
  "SELECT status || ' ' || trigger_type FROM pipeline_executions WHERE execution_type = 'ROLLBACK'")
[ "$rollback" = "Succeeded AutomatedRollback" ] && ok || bad "the rollback is recorded ($rollback)"

echo "run e2e: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
