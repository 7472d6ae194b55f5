#!/usr/bin/env bash
# Orchestration overhead of `stageline run` on a chain of 100 no-op Commands
# actions, beside GNU make running the same 100 `true` commands in the same
# run (the floor: one process spawn per step and nothing else).
#   (1) 25 stages of 4 sequential actions;  (2) 2 stages of runOrder 1..50.
# (CodePipeline allows at most 50 stages and 50 actions per stage, so the
# "100 stages" and "runOrder 1..100" shapes are invalid pipelines; these are
# the same 100-step chain within the limits.)
# Every action takes the source artifact as input (a Commands action needs
# one), so each step also unzips a one-file artifact, as CodePipeline would.
# usage: bench/chain.sh [path/to/stageline] [runs]
set -euo pipefail
BIN=$(realpath "${1:-build/stageline}")
RUNS=${2:-3}
N=100
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/src" && echo x >"$TMP/src/file"

header() {
  cat <<YAML
pipeline:
  name: chain
  roleArn: arn:aws:iam::123456789012:role/R
  pipelineType: V2
  artifactStore: {type: S3, location: chain-artifacts}
  stages:
    - name: Source
      actions:
        - name: Src
          actionTypeId: {category: Source, owner: AWS, provider: CodeCommit, version: "1"}
          configuration: {RepositoryName: r, BranchName: main}
          outputArtifacts: [{name: Code}]
YAML
}
action() {  # action NAME RUNORDER INDENT
  cat <<YAML | sed "s/^/$3/"
- name: $1
  runOrder: $2
  actionTypeId: {category: Compute, owner: AWS, provider: Commands, version: "1"}
  inputArtifacts: [{name: Code}]
  commands: ["true"]
YAML
}
{ header; for i in $(seq 1 $((N / 4))); do echo "    - name: S$i"; echo "      actions:"
    for j in 1 2 3 4; do action "A$j" "$j" "        "; done; done; } >"$TMP/stages.yaml"
{ header; for s in 1 2; do echo "    - name: Steps$s"; echo "      actions:"
    for i in $(seq 1 $((N / 2))); do action "A$i" "$i" "        "; done; done; } >"$TMP/runorder.yaml"
{ echo "all: t$N"; echo "t0:"; echo "	@true"; for i in $(seq 1 $N); do echo "t$i: t$((i - 1))"; echo "	@true"; done; } >"$TMP/Makefile"

ms() { date +%s%3N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }
measure() {  # measure COMMAND...: median wall ms of RUNS runs
  for _ in $(seq 1 "$RUNS"); do
    local t0; t0=$(ms); "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
    echo $(($(ms) - t0))
  done | median
}

make_ms=$(measure make -s -C "$TMP" -f "$TMP/Makefile" -B)
stages_ms=$(measure "$BIN" run "$TMP/stages.yaml" --source "Src=$TMP/src")
runorder_ms=$(measure "$BIN" run "$TMP/runorder.yaml" --source "Src=$TMP/src")
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $RUNS runs each, median wall time"
printf '%-40s %8s %10s %12s\n' "what" "ms" "ms/step" "vs make"
for row in "make, 100 chained 'true' targets:$make_ms" "stageline run, 25 stages x 4 actions:$stages_ms" "stageline run, 2 stages, runOrder 1..50:$runorder_ms"; do
  name=${row%:*}; v=${row##*:}
  awk -v n="$name" -v v="$v" -v s="$N" -v m="$make_ms" \
    'BEGIN { printf "%-40s %8d %10.2f %11.1fx\n", n, v, v / s, v / m }'
done
