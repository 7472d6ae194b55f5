#!/usr/bin/env bash
# End-to-end: drives the stageline binary as a user would, on the examples and
# on broken files, checking exit codes and what it prints.
# usage: tests/e2e/validate_examples.sh path/to/stageline
set -uo pipefail
BIN=$(realpath "$1")
cd "$(dirname "$0")/../.."
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0 passes=0

check() {  # check NAME EXPECTED_EXIT COMMAND... ; output in $TMP/out
  local name=$1 want=$2
  shift 2
  "$@" >"$TMP/out" 2>&1
  local got=$?
  if [ "$got" -ne "$want" ]; then
    echo "FAIL $name: exit $got, want $want"
    sed 's/^/    /' "$TMP/out" | head -40
    fails=$((fails + 1))
    return 1
  fi
  passes=$((passes + 1))
}

contains() {  # contains NAME TEXT: $TMP/out must contain TEXT
  if ! grep -qF -- "$2" "$TMP/out"; then
    echo "FAIL $1: output lacks: $2"
    sed 's/^/    /' "$TMP/out" | head -40
    fails=$((fails + 1))
  else
    passes=$((passes + 1))
  fi
}

for f in examples/*.json examples/*.yaml tests/definitions/valid/*; do
  case "$f" in *misspelled*) continue ;; esac
  check "valid $f" 0 "$BIN" validate "$f"
done

check "seed misspelled" 1 "$BIN" validate examples/seed-pipeline-misspelled.yaml
contains "seed misspelled names the wrong name" "Input Artifact Bundle BuildOutput in action 'DeployStack'"
contains "seed misspelled names the right name" "did you mean 'BuildOut'?"
contains "seed misspelled says where BuildOut is made" "action 'BuildAndTest' in stage 'Build'"
contains "seed misspelled has the line" "seed-pipeline-misspelled.yaml:37: error: Pipeline: stages[2].actions[1].inputArtifacts[0].name"

check "seed strict" 1 "$BIN" validate --strict examples/seed-pipeline.yaml
contains "strict turns not-runnable into errors" "cannot run CloudFormation deploy actions: it manages no CloudFormation stacks yet"

check "json output" 1 "$BIN" validate --output json examples/seed-pipeline-misspelled.yaml
python3 -c "import json,sys; d=json.load(open('$TMP/out')); assert d['valid'] is False and any(p['rule']=='artifact.input-not-produced' and p['line']==37 for p in d['problems']), d" \
  && passes=$((passes + 1)) || { echo "FAIL json output shape"; fails=$((fails + 1)); }

check "stdin" 0 sh -c "\"$BIN\" validate - < examples/seed-pipeline.json"

printf '{"pipeline": {"name": "x",\n  "stages": [}\n' >"$TMP/broken.json"
check "malformed json" 2 "$BIN" validate "$TMP/broken.json"
contains "malformed json has a line" "line 2"

printf 'Resources:\n  P: [unclosed\n' >"$TMP/broken.yaml"
check "malformed yaml" 2 "$BIN" validate "$TMP/broken.yaml"

check "missing file" 2 "$BIN" validate "$TMP/does-not-exist.json"
contains "missing file says why" "No such file or directory"

: >"$TMP/empty.json"
check "empty file" 2 "$BIN" validate "$TMP/empty.json"

head -c 6000000 /dev/zero | tr '\0' ' ' >"$TMP/huge.json"
check "oversized file" 2 "$BIN" validate "$TMP/huge.json"

check "unknown override" 1 "$BIN" validate --parameter-overrides Nope=1 examples/seed-pipeline.yaml
contains "unknown override is named" "Nope"

check "bad override" 2 "$BIN" validate --parameter-overrides novalue examples/seed-pipeline.yaml
check "unknown flag" 2 "$BIN" validate --frobnicate examples/seed-pipeline.yaml

echo "validate e2e: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
