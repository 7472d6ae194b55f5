#!/usr/bin/env bash
# End-to-end: the Parameter Store and Secrets Manager of `stageline server`,
# driven by the real aws CLI (aws ssm / secretsmanager / codebuild), and a
# build that uses them: the values reach the commands (a file of them has
# the expected checksum) while the build log shows *** instead; a build
# whose secret does not exist fails in DOWNLOAD_SOURCE naming it and runs no
# command; no value is left in the clear in the data directory; a project
# tagged stageline:sandbox=true builds under bubblewrap (when installed).
# usage: tests/e2e/secrets.sh path/to/stageline
set -uo pipefail
BIN=$(realpath "$1")
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh

start_server
aws_env
EP=(--endpoint-url "http://127.0.0.1:$PORT" --region us-east-1)
ssm() { aws ssm "$@" "${EP[@]}"; }
sm() { aws secretsmanager "$@" "${EP[@]}"; }
cb() { aws codebuild "$@" "${EP[@]}"; }
wait_build() {
  for _ in $(seq 1 300); do
    cb batch-get-builds --ids "$1" >"$TMP/out" 2>&1
    [ "$(json 'd["builds"][0]["buildComplete"]' 2>/dev/null)" = True ] && return 0
    sleep 0.1
  done
  return 1
}

PW='pa55-w0rd-Ω-for-db'
TOKEN='tok_9f8e7d6c5b4a'

# 1. Parameter Store.
ssm put-parameter --name /ci/db/password --value "$PW" --type SecureString >"$TMP/out" 2>&1
[ "$(json 'd["Version"]')" = 1 ] && ok || bad "put-parameter SecureString answers Version 1"
ssm get-parameter --name /ci/db/password >"$TMP/out" 2>&1
v=$(json 'd["Parameter"]["Value"]')
[ -n "$v" ] && [ "$v" != "$PW" ] && ok || bad "get-parameter without decryption hides a SecureString"
ssm get-parameter --name /ci/db/password --with-decryption >"$TMP/out" 2>&1
[ "$(json 'd["Parameter"]["Value"]')" = "$PW" ] && ok || bad "get-parameter --with-decryption"
ssm put-parameter --name /ci/db/password --value other --type SecureString >"$TMP/out" 2>&1
grep -q ParameterAlreadyExists "$TMP/out" && ok || bad "put-parameter without --overwrite"
ssm put-parameter --name /ci/region --value eu-west-1 --type String >"$TMP/out" 2>&1
ssm put-parameter --name /ci/region --value eu-central-1 --overwrite >"$TMP/out" 2>&1
[ "$(json 'd["Version"]')" = 2 ] && ok || bad "put-parameter --overwrite increments the version"
ssm get-parameters --names /ci/region /ci/missing >"$TMP/out" 2>&1
[ "$(json '[p["Value"] for p in d["Parameters"]]')" = "['eu-central-1']" ] &&
  [ "$(json 'd["InvalidParameters"]')" = "['/ci/missing']" ] && ok || bad "get-parameters lists InvalidParameters"
ssm get-parameter --name /ci/missing >"$TMP/out" 2>&1
grep -q ParameterNotFound "$TMP/out" && ok || bad "get-parameter of a missing parameter is ParameterNotFound"
ssm delete-parameter --name /ci/region >"$TMP/out" 2>&1 && ok || bad "delete-parameter"

# 2. Secrets Manager.
sm create-secret --name ci/api --secret-string "{\"token\":\"$TOKEN\",\"user\":\"ci\"}" >"$TMP/out" 2>&1
arn=$(json 'd["ARN"]')
[[ "$arn" =~ ^arn:aws:secretsmanager:us-east-1:111122223333:secret:ci/api-[A-Za-z0-9]{6}$ ]] && ok ||
  bad "create-secret answers an ARN with a 6-character suffix: $arn"
sm create-secret --name ci/api --secret-string x >"$TMP/out" 2>&1
grep -q ResourceExistsException "$TMP/out" && ok || bad "create-secret of an existing name"
sm get-secret-value --secret-id "$arn" >"$TMP/out" 2>&1
[ "$(json 'd["SecretString"]')" = "{\"token\":\"$TOKEN\",\"user\":\"ci\"}" ] &&
  [ "$(json 'd["VersionStages"]')" = "['AWSCURRENT']" ] && ok || bad "get-secret-value by ARN"
sm create-secret --name ci/old --secret-string first >"$TMP/out" 2>&1
sm put-secret-value --secret-id ci/old --secret-string second >"$TMP/out" 2>&1
sm get-secret-value --secret-id ci/old --version-stage AWSPREVIOUS >"$TMP/out" 2>&1
[ "$(json 'd["SecretString"]')" = first ] && ok || bad "put-secret-value moves AWSCURRENT to AWSPREVIOUS"
sm list-secrets >"$TMP/out" 2>&1
[ "$(json 'sorted(s["Name"] for s in d["SecretList"])')" = "['ci/api', 'ci/old']" ] && ok || bad "list-secrets"
sm delete-secret --secret-id ci/old --recovery-window-in-days 7 >"$TMP/out" 2>&1
sm get-secret-value --secret-id ci/old >"$TMP/out" 2>&1
grep -q "InvalidRequestException.*marked for deletion" "$TMP/out" && ok ||
  bad "get-secret-value of a secret scheduled for deletion"
sm delete-secret --secret-id ci/old --force-delete-without-recovery >"$TMP/out" 2>&1
sm get-secret-value --secret-id ci/old >"$TMP/out" 2>&1
grep -q ResourceNotFoundException "$TMP/out" && ok || bad "a force-deleted secret is gone"

# 3. A build that uses both; the log masks them.
cat >"$TMP/project.json" <<'JSON'
{"name": "uses-secrets", "source": {"type": "NO_SOURCE", "buildspec":
  "version: 0.2\nenv:\n  parameter-store:\n    DB_PASSWORD: /ci/db/password\n  secrets-manager:\n    API_TOKEN: ci/api:token\nphases:\n  build:\n    commands:\n      - echo \"password is $DB_PASSWORD\"\n      - echo \"token is $API_TOKEN and again $PROJECT_TOKEN\"\n      - printf '%s\\n%s\\n' \"$DB_PASSWORD\" \"$API_TOKEN\" > values.txt\n      - echo \"sha256 $(sha256sum values.txt | cut -d' ' -f1)\"\n"},
 "artifacts": {"type": "NO_ARTIFACTS"},
 "environment": {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
   "computeType": "BUILD_GENERAL1_SMALL",
   "environmentVariables": [{"name": "PROJECT_TOKEN", "value": "ci/api:token:AWSCURRENT", "type": "SECRETS_MANAGER"}]},
 "serviceRole": "arn:aws:iam::111122223333:role/codebuild"}
JSON
cb create-project --cli-input-json "file://$TMP/project.json" >"$TMP/out" 2>&1 || bad "create-project"
cb start-build --project-name uses-secrets >"$TMP/out" 2>&1
build_id=$(json 'd["build"]["id"]')
wait_build "$build_id" && [ "$(json 'd["builds"][0]["buildStatus"]')" = SUCCEEDED ] && ok ||
  bad "the build that uses a parameter and a secret SUCCEEDED"
log=$(json 'd["builds"][0]["logs"]["deepLink"]'); log=${log#file://}
cp "$log" "$TMP/out"
want=$(printf '%s\n%s\n' "$PW" "$TOKEN" | sha256sum | cut -d' ' -f1)
grep -q "sha256 $want" "$TMP/out" && ok || bad "the real values reached the commands (checksum $want)"
grep -q "password is \*\*\*" "$TMP/out" && grep -q "token is \*\*\* and again \*\*\*" "$TMP/out" && ok ||
  bad "the build log shows *** for the values"
! grep -q -e "$PW" -e "$TOKEN" "$TMP/out" && ok || bad "no value in the build log"

# 4. A missing secret fails DOWNLOAD_SOURCE, naming it, and runs nothing.
cb create-project --name needs-ghost --source '{"type":"NO_SOURCE","buildspec":"version: 0.2\nenv:\n  secrets-manager:\n    X: ghost/secret:key\nphases:\n  build:\n    commands:\n      - echo should-not-run\n"}' \
  --artifacts type=NO_ARTIFACTS --service-role arn:aws:iam::111122223333:role/codebuild \
  --environment type=LINUX_CONTAINER,image=aws/codebuild/standard:7.0,computeType=BUILD_GENERAL1_SMALL >"$TMP/out" 2>&1
cb start-build --project-name needs-ghost >"$TMP/out" 2>&1
build_id=$(json 'd["build"]["id"]')
wait_build "$build_id"
[ "$(json 'd["builds"][0]["buildStatus"]')" = FAILED ] &&
  [ "$(json '[p["phaseStatus"] for p in d["builds"][0]["phases"] if p["phaseType"]=="DOWNLOAD_SOURCE"][0]')" = FAILED ] &&
  json '[p for p in d["builds"][0]["phases"] if p["phaseType"]=="DOWNLOAD_SOURCE"][0]["contexts"][0]["message"]' | grep -q ghost/secret &&
  [ "$(json '[p["phaseType"] for p in d["builds"][0]["phases"] if p["phaseType"]=="BUILD"]')" = "[]" ] && ok ||
  bad "a build whose secret does not exist fails in DOWNLOAD_SOURCE naming it, before BUILD"

# 5. Nothing in the data directory holds a value in the clear.
! grep -r -a -q -e "$PW" -e "$TOKEN" "$TMP/data" && ok || { grep -r -a -l -e "$PW" -e "$TOKEN" "$TMP/data" >"$TMP/out"; bad "a value in the clear under the data directory"; }
[ "$(stat -c %a "$TMP/data/secrets.key")" = 600 ] && ok || bad "the secrets key file is 0600"

# 6. A sandboxed project (bubblewrap), when bwrap is installed.
if command -v bwrap >/dev/null; then
  PROBE=/etc/stageline-probe-$$  # unique: a file left by another run must not decide this one
  cb create-project --name boxed --tags key=stageline:sandbox,value=true \
    --source '{"type":"NO_SOURCE","buildspec":"version: 0.2\nphases:\n  build:\n    commands:\n      - echo inside > here.txt\n      - if touch '"$PROBE"' 2>/dev/null; then echo etc=writable; else echo etc=read-only; fi\n"}' \
    --artifacts type=NO_ARTIFACTS --service-role arn:aws:iam::111122223333:role/codebuild \
    --environment type=LINUX_CONTAINER,image=aws/codebuild/standard:7.0,computeType=BUILD_GENERAL1_SMALL >"$TMP/out" 2>&1
  cb start-build --project-name boxed >"$TMP/out" 2>&1
  build_id=$(json 'd["build"]["id"]')
  wait_build "$build_id"
  log=$(json 'd["builds"][0]["logs"]["deepLink"]'); log=${log#file://}
  [ "$(json 'd["builds"][0]["buildStatus"]')" = SUCCEEDED ] && grep -q "etc=read-only" "$log" &&
    [ ! -e "$PROBE" ] && ok || { cp "$log" "$TMP/out" 2>/dev/null; rm -f "$PROBE"; bad "a sandboxed build cannot write /etc"; }
else
  echo "skip: bwrap is not installed (the sandbox check)"
fi

finish secrets
