# tests/e2e/lib.sh: what the end-to-end scripts that drive a real
# `stageline server` share. Source it from the repository root with BIN set
# to the stageline binary; it makes TMP (removed on exit, unless KEEP is set)
# and a free PORT, and defines:
#   ok / bad NAME      count a check; bad prints NAME and the start of $TMP/out
#   start_server ARGS  a server on $TMP/data and $PORT (extra server flags
#                      allowed); exits the script if it does not start
#   stop_server        stops it (and waits)
#   aws_env            the aws CLI signs with the server's credentials file only
#   git_env            git without the user's configuration, a fixed identity
#   json EXPR          prints a python expression over d = the JSON in $TMP/out
#   codedeploy_group APP GROUP INSTANCE...
#                      a CodeDeploy application and deployment group over the
#                      on-premises instances tagged role=web, and those
#                      instances, each the directory $TMP/hosts/INSTANCE
#                      (needs EP, the aws CLI's endpoint flags)
#   finish NAME        prints the tally and returns its status
TMP=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
server=""
fails=0 passes=0
stop_server() { [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null; server=""; }
trap 'stop_server; [ -n "${KEEP:-}" ] || rm -rf "$TMP"' EXIT
ok() { passes=$((passes + 1)); }
bad() { echo "FAIL $1"; sed 's/^/    /' "$TMP/out" 2>/dev/null | head -30; fails=$((fails + 1)); }
start_server() {
  # A restart must not find the previous server's "listening" line.
  rm -f "$TMP/server.out"
  "$BIN" server --data-dir "$TMP/data" --listen "127.0.0.1:$PORT" "$@" \
    >"$TMP/server.out" 2>>"$TMP/server.err" &
  server=$!
  for _ in $(seq 1 100); do grep -q "listening" "$TMP/server.out" 2>/dev/null && return 0; sleep 0.1; done
  echo "server did not start"
  cat "$TMP/server.err"
  exit 1
}
aws_env() {
  export AWS_SHARED_CREDENTIALS_FILE="$TMP/data/credentials" AWS_CONFIG_FILE=/dev/null
  unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE
}
git_env() {
  export HOME="$TMP/home" GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0
  mkdir -p "$HOME"
  export GIT_AUTHOR_NAME="Ada Lovelace" GIT_AUTHOR_EMAIL=ada@example.com
  export GIT_COMMITTER_NAME="Ada Lovelace" GIT_COMMITTER_EMAIL=ada@example.com
}
codedeploy_group() {
  local app=$1 group=$2 i
  shift 2
  aws deploy create-application --application-name "$app" "${EP[@]}" >"$TMP/out" 2>&1 &&
    aws deploy create-deployment-group --application-name "$app" --deployment-group-name "$group" \
      --service-role-arn arn:aws:iam::111122223333:role/codedeploy \
      --on-premises-instance-tag-filters Key=role,Value=web,Type=KEY_AND_VALUE "${EP[@]}" >"$TMP/out" 2>&1 ||
    return 1
  for i in "$@"; do
    aws deploy register-on-premises-instance --instance-name "$i" \
      --iam-user-arn arn:aws:iam::111122223333:user/deployer "${EP[@]}" >"$TMP/out" 2>&1 &&
      aws deploy add-tags-to-on-premises-instances --instance-names "$i" \
        --tags Key=role,Value=web "Key=stageline:target-directory,Value=$TMP/hosts/$i" "${EP[@]}" >"$TMP/out" 2>&1 ||
      return 1
  done
}
json() { python3 -c "import json,sys; d=json.load(open('$TMP/out')); print($1)"; }
finish() {
  echo "$1: $passes passed, $fails failed"
  [ "$fails" -eq 0 ]
}
