#!/usr/bin/env bash
# The web console's live view, measured in Debian's chromium (playwright-core)
# against a real server, each beside its floor in the same run
# (bench/console_live.mjs says what exactly is timed):
#   (a) event -> page: an action's Succeeded reaches a plain client of the
#       event stream (the floor) and then shows on the pipeline page (the
#       console's cost: its coalescing, the API reads it refetches, the render);
#   (b) the pipelines page with 1,000 pipelines: from navigation to the table
#       drawn, beside the same API reads made by a plain client; and from a
#       start of one pipeline to its row showing it.
# usage: bench/console_live.sh [path/to/stageline] [runs]
#   BENCH_PIPELINES=N   pipelines for (b) (default 1000)
#   SERVER_ARGS=...     more flags for the server, e.g. --console-dir web
set -euo pipefail
BIN=$(realpath "${1:-build/stageline}")
RUNS=${2:-3}
cd "$(dirname "$0")/.."
ROOT=$PWD
DIR=$ROOT/tests/e2e/console
[ -x /usr/bin/chromium ] || { echo "needs /usr/bin/chromium (Debian package chromium)" >&2; exit 1; }
stamp=$DIR/node_modules/.stageline-lock.sha256
want=$(sha256sum "$DIR/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  (cd "$DIR" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" >"$stamp"
fi
TMP=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" server --data-dir "$TMP/data" --listen "127.0.0.1:$PORT" ${SERVER_ARGS:-} >"$TMP/server.out" 2>"$TMP/server.err" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 1 100); do grep -q listening "$TMP/server.out" 2>/dev/null && break; sleep 0.1; done
export AWS_SHARED_CREDENTIALS_FILE="$TMP/data/credentials" AWS_CONFIG_FILE=/dev/null
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE
EP=(--endpoint-url "http://127.0.0.1:$PORT" --region us-east-1)
mkdir -p "$TMP/src" && echo hello >"$TMP/src/file" && (cd "$TMP/src" && zip -q ../src.zip file)
aws s3 mb s3://bench-artifacts "${EP[@]}" >/dev/null
aws s3api put-bucket-versioning --bucket bench-artifacts \
  --versioning-configuration Status=Enabled "${EP[@]}" >/dev/null
aws s3 cp "$TMP/src.zip" s3://bench-artifacts/src.zip "${EP[@]}" >/dev/null
BENCH_URL="http://127.0.0.1:$PORT" BENCH_RUNS=$RUNS \
  BENCH_KEY_ID=$(awk -F' *= *' '/aws_access_key_id/{print $2}' "$TMP/data/credentials") \
  BENCH_SECRET=$(awk -F' *= *' '/aws_secret_access_key/{print $2}' "$TMP/data/credentials") \
  node "$ROOT/bench/console_live.mjs"
