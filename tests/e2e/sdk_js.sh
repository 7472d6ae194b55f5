#!/usr/bin/env bash
# End-to-end: `stageline server` driven by the AWS SDK for JavaScript v3
# (tests/e2e/sdk_js/test.mjs): the pipeline API, SigV4 refusals, a
# custom-action job worker and a third-party one; then a restart of the server, after which the
# custom action types are still there and an execution that waited for a
# worker goes on. Needs node >= 20 and npm (Debian: nodejs, npm).
# The npm packages are installed from the lock file into
# tests/e2e/sdk_js/node_modules when missing or stale (this needs the npm
# registry once); the test itself only talks to 127.0.0.1.
# usage: tests/e2e/sdk_js.sh path/to/stageline
set -uo pipefail
[ $# -eq 1 ] || { echo "usage: $0 path/to/stageline" >&2; exit 2; }
BIN=$(realpath "$1")
cd "$(dirname "$0")/../.."
REPO=$PWD
DIR=$REPO/tests/e2e/sdk_js
passes=0 fails=0
summary() { echo "sdk e2e (JS): $passes passed, $fails failed"; }
ok() { passes=$((passes + 1)); }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
setup_failed() { bad "$1"; summary; exit 1; }

command -v node >/dev/null && command -v npm >/dev/null || setup_failed "node and npm are installed"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || setup_failed "node is version 20 or later (the SDK needs it; this is $(node -v))"
[ -x "$BIN" ] || setup_failed "$BIN is an executable"

# npm ci only when node_modules is missing or was installed from another lock file.
stamp=$DIR/node_modules/.stageline-lock.sha256
want=$(sha256sum "$DIR/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  (cd "$DIR" && npm ci --no-audit --no-fund --loglevel=error) || setup_failed "npm ci in tests/e2e/sdk_js"
  echo "$want" >"$stamp"
fi

TMP=$(mktemp -d)
server=""
kill_server() { [ -n "$server" ] && kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null; server=""; }
trap 'kill_server; rm -rf "$TMP"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

start_server() {
  : >"$TMP/server.out"
  "$BIN" server --data-dir "$TMP/data" --listen "127.0.0.1:$PORT" >"$TMP/server.out" 2>>"$TMP/server.err" &
  server=$!
  for _ in $(seq 1 100); do
    grep -q "listening" "$TMP/server.out" 2>/dev/null && return 0
    kill -0 "$server" 2>/dev/null || break
    sleep 0.1
  done
  tail -20 "$TMP/server.err"
  setup_failed "the server starts"
}

# SIGTERM stops the server cleanly (exit status 0; under the sanitizers a
# leak or an error makes it non-zero).
stop_server() {
  kill -TERM "$server"
  wait "$server"
  local rc=$?
  server=""
  [ "$rc" -eq 0 ] && ok || bad "SIGTERM stops the server with exit status 0 (got $rc)"
}

# Only the server's credentials file: nothing from the environment or ~/.aws.
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_REGION AWS_DEFAULT_REGION
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE="$TMP/data/credentials"
# The SDK version is pinned, so its notice about future node versions is noise.
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
export STAGELINE_ENDPOINT="http://127.0.0.1:$PORT" STAGELINE_CREDENTIALS="$TMP/data/credentials"
export STAGELINE_REPO="$REPO" STAGELINE_RESULTS="$TMP/results"

run_phase() {
  : >"$TMP/results"
  timeout 60 node "$DIR/test.mjs" "$1"
  local rc=$?
  if read -r p f <"$TMP/results" && [ -n "$p" ]; then
    passes=$((passes + p)) fails=$((fails + f))
  else
    bad "node test.mjs $1 ran to its end (exit status $rc; 124 is the 60 s timeout)"
  fi
  if [ "$rc" -ne 0 ]; then
    echo "server log (stderr, last 30 lines):"
    tail -30 "$TMP/server.err" | sed 's/^/    /'
  fi
}

start_server
# Third-party action types for test.mjs's partner worker (docs/api.md,
# "Registered action types").
for t in "Source PartnerRepo 0 0 1 1" "Test PartnerScan 1 1 0 0"; do
  read -r category provider min_in max_in min_out max_out <<<"$t"
  cat >"$TMP/type.json" <<JSON
{"executor": {"configuration": {"jobWorkerExecutorConfiguration": {}}, "type": "JobWorker"},
 "id": {"category": "$category", "owner": "ThirdParty", "provider": "$provider", "version": "1"},
 "inputArtifactDetails": {"minimumCount": $min_in, "maximumCount": $max_in},
 "outputArtifactDetails": {"minimumCount": $min_out, "maximumCount": $max_out},
 "properties": [{"name": "Project", "optional": false, "key": true, "noEcho": false}]}
JSON
  "$BIN" action-types register "$TMP/type.json" --data-dir "$TMP/data" >"$TMP/register.out" 2>&1 ||
    { cat "$TMP/register.out"; setup_failed "stageline action-types register $provider"; }
done
run_phase before-restart
stop_server
start_server
run_phase after-restart
stop_server
summary
[ "$fails" -eq 0 ]
