#!/usr/bin/env bash
# Crash recovery: runs tests/e2e/crash/pipeline.yaml, kills the process with
# SIGKILL at a random moment, restarts it on the same data directory with
# --resume, and checks after each restart that
#   - the execution ends Succeeded (or never started, when killed that early);
#   - every action has exactly one Succeeded attempt, and every earlier
#     attempt is recorded as interrupted;
#   - an action whose success was committed before the kill did not run again;
#   - the entry condition of stage Sequence ends Succeeded, each of its rules
#     has exactly one Succeeded evaluation, every other one is recorded as
#     interrupted, and a rule whose success was committed did not run again.
# usage: tests/e2e/crash_recovery.sh path/to/stageline [kills]
set -uo pipefail
BIN=$(realpath "$1")
KILLS=${2:-50}
cd "$(dirname "$0")/../.."
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/src" && echo code >"$TMP/src/file"
fails=0 restarts=0 early=0
sql() { sqlite3 -readonly "$1/stageline.db" "$2"; }

for i in $(seq 1 "$KILLS"); do
  data="$TMP/data$i" marks="$TMP/marks$i"
  : >"$marks"
  sed "s|MARKS_FILE|$marks|" tests/e2e/crash/pipeline.yaml >"$TMP/p$i.yaml"
  "$BIN" run "$TMP/p$i.yaml" --source "Src=$TMP/src" --data-dir "$data" >"$TMP/out$i" 2>&1 &
  pid=$!
  # Kill somewhere between 0 and ~0.6 s into the run (a whole run takes ~0.3-0.8 s).
  sleep "0.$(printf '%03d' $((RANDOM % 600)))"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  # Which actions had a committed success before the kill.
  before=$(sql "$data" "SELECT action_name FROM action_executions WHERE status='Succeeded' UNION ALL SELECT rule_name FROM rule_executions WHERE status='Succeeded' ORDER BY 1" 2>/dev/null | tr '\n' ' ')
  "$BIN" run --resume --data-dir "$data" --source "Src=$TMP/src" >>"$TMP/out$i" 2>&1
  rc=$?
  restarts=$((restarts + 1))
  execs=$(sql "$data" "SELECT count(*) FROM pipeline_executions" 2>/dev/null || echo 0)
  if [ "${execs:-0}" -eq 0 ]; then
    early=$((early + 1))
    continue
  fi
  problem=""
  [ "$rc" -eq 0 ] || problem="resume exited $rc"
  status=$(sql "$data" "SELECT status FROM pipeline_executions")
  [ "$status" = "Succeeded" ] || problem="$problem; execution is $status"
  bad=$(sql "$data" "SELECT action_name FROM action_executions GROUP BY action_name HAVING sum(status='Succeeded') <> 1")
  [ -z "$bad" ] || problem="$problem; actions without exactly one success: $bad"
  n=$(sql "$data" "SELECT count(DISTINCT action_name) FROM action_executions")
  [ "$n" -eq 6 ] || problem="$problem; $n actions recorded, want 6"
  stray=$(sql "$data" "SELECT action_name || ' ' || attempt || ' ' || status FROM action_executions WHERE status <> 'Succeeded' AND summary NOT LIKE 'interrupted%'")
  [ -z "$stray" ] || problem="$problem; failed attempts that were not interrupted: $stray"
  cond=$(sql "$data" "SELECT group_concat(condition_type || ' ' || status) FROM condition_executions")
  [ "$cond" = "BEFORE_ENTRY Succeeded" ] || problem="$problem; entry condition: $cond"
  bad=$(sql "$data" "SELECT rule_name FROM rule_executions GROUP BY rule_name HAVING sum(status='Succeeded') <> 1")
  [ -z "$bad" ] || problem="$problem; rules without exactly one success: $bad"
  stray=$(sql "$data" "SELECT rule_name || ' ' || status FROM rule_executions WHERE status <> 'Succeeded' AND summary NOT LIKE 'interrupted%'")
  [ -z "$stray" ] || problem="$problem; rule evaluations that were not interrupted: $stray"
  for a in $before; do
    [ "$a" = "Src" ] || [ "$a" = "Mode" ] && continue  # they leave no mark
    runs=$(grep -c "^$a\$" "$marks")
    [ "$runs" -eq 1 ] || problem="$problem; $a had succeeded before the kill but ran $runs times"
  done
  if [ -n "$problem" ]; then
    fails=$((fails + 1))
    echo "FAIL kill $i: ${problem#; }"
    sed 's/^/    /' "$TMP/out$i" | tail -20
  fi
done
echo "crash recovery: $KILLS kills, $((KILLS - early)) resumed mid-run, $early before the execution existed, $fails failed"
[ "$fails" -eq 0 ]
