#!/usr/bin/env bash
# End-to-end: `stageline server` driven by the AWS SDK for JavaScript v3
# (tests/e2e/sdk_js/test.mjs): the pipeline API, SigV4 refusals, and a
# custom-action job worker. Needs node >= 20 and npm (Debian: nodejs, npm).
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
setup_failed() { echo "FAIL $1"; echo "sdk e2e (JS): 0 passed, 1 failed"; exit 1; }

command -v node >/dev/null && command -v npm >/dev/null || setup_failed "node and npm are installed"
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
stop_server() { [ -n "$server" ] && kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null; server=""; }
trap 'stop_server; rm -rf "$TMP"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$BIN" server --data-dir "$TMP/data" --listen "127.0.0.1:$PORT" >"$TMP/server.out" 2>"$TMP/server.err" &
server=$!
for _ in $(seq 1 100); do
  grep -q "listening" "$TMP/server.out" 2>/dev/null && break
  kill -0 "$server" 2>/dev/null || break
  sleep 0.1
done
if ! grep -q "listening" "$TMP/server.out" 2>/dev/null; then
  cat "$TMP/server.err"
  setup_failed "the server starts"
fi

# Only the server's credentials file: nothing from the environment or ~/.aws.
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_REGION AWS_DEFAULT_REGION
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE="$TMP/data/credentials"
AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true STAGELINE_ENDPOINT="http://127.0.0.1:$PORT" STAGELINE_CREDENTIALS="$TMP/data/credentials" STAGELINE_REPO="$REPO" \
  timeout 60 node "$DIR/test.mjs"
rc=$?
[ $rc -eq 124 ] && echo "FAIL the SDK test finished within 60 s" && echo "sdk e2e (JS): timed out"
if [ $rc -ne 0 ]; then
  echo "server log (stderr, last 40 lines):"
  tail -40 "$TMP/server.err" | sed 's/^/    /'
fi

# SIGTERM stops the server cleanly.
kill -TERM "$server"
wait "$server"
src=$?
server=""
if [ $src -ne 0 ]; then
  echo "FAIL SIGTERM stops the server with exit status 0 (got $src)"
  rc=1
fi
exit $rc
