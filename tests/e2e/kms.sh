#!/usr/bin/env bash
# End-to-end: KMS keys and encrypted artifact stores on `stageline server`,
# driven by the real aws CLI (aws kms / s3 / codepipeline): create-key,
# create-alias, describe-key by alias, encrypt/decrypt round trips with an
# encryption context, generate-data-key, list-keys/list-aliases pagination,
# disable/enable, schedule-key-deletion; a pipeline whose
# artifactStore.encryptionKey is an alias succeeds while its objects on disk
# are sealed (no zip, no plaintext); a bucket with default encryption seals
# too; pipelines naming a key pending deletion or a missing alias fail their
# first action with a message naming the key and the object.
# usage: tests/e2e/kms.sh path/to/stageline
set -uo pipefail
BIN=$(realpath "$1")
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh

start_server
aws_env
EP=(--endpoint-url "http://127.0.0.1:$PORT" --region us-east-1)
kms() { aws kms "$@" "${EP[@]}"; }
cp_() { aws codepipeline "$@" "${EP[@]}"; }
ACCOUNT_ARN=arn:aws:kms:us-east-1:111122223333

# 1. Keys and aliases.
kms create-key --description "pipeline artifacts" >"$TMP/out" 2>&1 &&
  [ "$(json 'd["KeyMetadata"]["KeyState"]')" = Enabled ] && ok || bad "create-key"
key=$(json 'd["KeyMetadata"]["KeyId"]')
key_arn=$(json 'd["KeyMetadata"]["Arn"]')
[ "$key_arn" = "$ACCOUNT_ARN:key/$key" ] && ok || bad "the key ARN: $key_arn"
perm=$(stat -c %a "$TMP/data/kms/$key" 2>/dev/null) dperm=$(stat -c %a "$TMP/data/kms" 2>/dev/null)
[ "$perm" = 600 ] && [ "$dperm" = 700 ] && [ "$(stat -c %s "$TMP/data/kms/$key")" = 32 ] && ok ||
  bad "key material is 32 bytes, mode 0600 in a 0700 directory ($perm, $dperm)"
kms create-alias --alias-name alias/pipeline --target-key-id "$key" >"$TMP/out" 2>&1 && ok || bad "create-alias"
kms create-alias --alias-name alias/pipeline --target-key-id "$key" >"$TMP/out" 2>&1
grep -q AlreadyExistsException "$TMP/out" && ok || bad "create-alias twice is AlreadyExistsException"
kms describe-key --key-id alias/pipeline >"$TMP/out" 2>&1 && [ "$(json 'd["KeyMetadata"]["KeyId"]')" = "$key" ] &&
  ok || bad "describe-key by alias"
kms describe-key --key-id "$ACCOUNT_ARN:alias/pipeline" >"$TMP/out" 2>&1 &&
  [ "$(json 'd["KeyMetadata"]["Arn"]')" = "$key_arn" ] && ok || bad "describe-key by alias ARN"
kms describe-key --key-id alias/none >"$TMP/out" 2>&1
grep -q NotFoundException "$TMP/out" && ok || bad "describe-key of a missing alias is NotFoundException"

# 2. Encrypt and decrypt: the ciphertext names its key; the context is bound.
printf 'attack at dawn' >"$TMP/plain.txt"
kms encrypt --key-id alias/pipeline --plaintext "fileb://$TMP/plain.txt" \
  --encryption-context purpose=e2e,stage=one --output text --query CiphertextBlob >"$TMP/blob.b64" 2>"$TMP/out" &&
  base64 -d "$TMP/blob.b64" >"$TMP/blob" && ok || bad "encrypt"
kms decrypt --ciphertext-blob "fileb://$TMP/blob" --encryption-context stage=one,purpose=e2e >"$TMP/out" 2>&1 &&
  [ "$(json 'd["KeyId"]')" = "$key_arn" ] &&
  [ "$(json '__import__("base64").b64decode(d["Plaintext"]).decode()')" = "attack at dawn" ] && ok ||
  bad "decrypt without --key-id gives the plaintext back"
kms decrypt --ciphertext-blob "fileb://$TMP/blob" --encryption-context purpose=other >"$TMP/out" 2>&1
grep -q InvalidCiphertextException "$TMP/out" && ok || bad "decrypt with another context is InvalidCiphertextException"
kms create-key --description other >"$TMP/out" 2>&1
other=$(json 'd["KeyMetadata"]["KeyId"]')
kms decrypt --ciphertext-blob "fileb://$TMP/blob" --encryption-context stage=one,purpose=e2e \
  --key-id "$other" >"$TMP/out" 2>&1
grep -q IncorrectKeyException "$TMP/out" && ok || bad "decrypt naming another key is IncorrectKeyException"
kms generate-data-key --key-id "$key" --key-spec AES_256 >"$TMP/out" 2>&1 &&
  [ "$(json 'len(__import__("base64").b64decode(d["Plaintext"]))')" = 32 ] && ok || bad "generate-data-key"
plain_dk=$(json 'd["Plaintext"]')
json 'd["CiphertextBlob"]' | base64 -d >"$TMP/dk"
kms decrypt --ciphertext-blob "fileb://$TMP/dk" >"$TMP/out" 2>&1 && [ "$(json 'd["Plaintext"]')" = "$plain_dk" ] &&
  ok || bad "the data key's ciphertext decrypts to its plaintext"

# 3. Pagination: the CLI follows NextMarker; --max-items stops early.
kms create-alias --alias-name alias/second --target-key-id "$other" >"$TMP/out" 2>&1
kms create-key >"$TMP/out" 2>&1
kms list-keys --page-size 1 >"$TMP/out" 2>&1 && [ "$(json 'len(d["Keys"])')" = 3 ] && ok ||
  bad "list-keys with one key per page lists all three"
kms list-keys --max-items 2 >"$TMP/out" 2>&1 && [ "$(json 'len(d["Keys"])')" = 2 ] &&
  [ -n "$(json 'd.get("NextToken","")')" ] && ok || bad "list-keys --max-items 2 stops with a NextToken"
kms list-aliases --page-size 1 >"$TMP/out" 2>&1 &&
  [ "$(json '",".join(a["AliasName"] for a in d["Aliases"])')" = "alias/pipeline,alias/second" ] && ok ||
  bad "list-aliases pages through every alias in order"
kms list-aliases --key-id "$other" >"$TMP/out" 2>&1 &&
  [ "$(json '[a["AliasName"] for a in d["Aliases"]]')" = "['alias/second']" ] && ok || bad "list-aliases --key-id"

# 4. Disabled and pending deletion keys refuse to encrypt.
kms disable-key --key-id "$other" >"$TMP/out" 2>&1 && ok || bad "disable-key"
kms encrypt --key-id "$other" --plaintext "fileb://$TMP/plain.txt" >"$TMP/out" 2>&1
grep -q DisabledException "$TMP/out" && ok || bad "encrypt with a disabled key is DisabledException"
kms enable-key --key-id "$other" >"$TMP/out" 2>&1 && ok || bad "enable-key"
kms schedule-key-deletion --key-id alias/second --pending-window-in-days 7 >"$TMP/out" 2>&1 &&
  [ "$(json 'd["KeyState"]')" = PendingDeletion ] && ok || bad "schedule-key-deletion"
kms describe-key --key-id "$other" >"$TMP/out" 2>&1 &&
  [ "$(json 'd["KeyMetadata"]["KeyState"]')" = PendingDeletion ] && ok || bad "describe-key shows PendingDeletion"
kms encrypt --key-id "$other" --plaintext "fileb://$TMP/plain.txt" >"$TMP/out" 2>&1
grep -q KMSInvalidStateException "$TMP/out" && ok || bad "encrypt with a key pending deletion is KMSInvalidStateException"

# 5. An encrypted artifact store: the pipeline succeeds, the objects are sealed.
MARKER=stageline-plaintext-marker-4711
mkdir -p "$TMP/app" && echo "$MARKER" >"$TMP/app/secret.txt"
(cd "$TMP/app" && python3 -c "import zipfile; z=zipfile.ZipFile('../app.zip','w'); z.write('secret.txt'); z.close()")
for b in kms-artifacts plain-artifacts default-artifacts drops; do
  aws s3 mb "s3://$b" "${EP[@]}" >"$TMP/out" 2>&1 || bad "aws s3 mb $b"
done
aws s3 cp "$TMP/app.zip" s3://drops/app.zip "${EP[@]}" >"$TMP/out" 2>&1 && ok || bad "upload the source zip"

pipeline() { # name, bucket, artifactStore extra JSON (e.g. , "encryptionKey": {...})
  cat >"$TMP/$1.json" <<JSON
{"pipeline": {"name": "$1", "roleArn": "arn:aws:iam::111122223333:role/pipeline",
 "artifactStore": {"type": "S3", "location": "$2"$3}, "pipelineType": "V2",
 "stages": [
  {"name": "Source", "actions": [{"name": "Fetch",
    "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
    "configuration": {"S3Bucket": "drops", "S3ObjectKey": "app.zip", "PollForSourceChanges": "false"},
    "outputArtifacts": [{"name": "Code"}]}]},
  {"name": "Build", "actions": [{"name": "Check",
    "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
    "commands": ["grep -q $MARKER secret.txt", "cp secret.txt copy.txt"],
    "inputArtifacts": [{"name": "Code"}], "outputArtifacts": [{"name": "Built", "files": ["copy.txt"]}]}]},
  {"name": "Use", "actions": [{"name": "Read",
    "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
    "commands": ["grep -q $MARKER copy.txt"],
    "inputArtifacts": [{"name": "Built"}]}]}]}}
JSON
  cp_ create-pipeline --cli-input-json "file://$TMP/$1.json" >"$TMP/out" 2>&1
}
# Waits for the latest execution of pipeline $1 to end; sets $st.
wait_latest() {
  st=""
  for _ in $(seq 1 300); do
    cp_ list-pipeline-executions --pipeline-name "$1" >"$TMP/out" 2>&1
    st=$(json 'd["pipelineExecutionSummaries"][0]["status"]' 2>/dev/null)
    [ "$st" = Succeeded ] || [ "$st" = Failed ] && return 0
    sleep 0.2
  done
}
# The stored object files of bucket $1 (every version).
objects_of() { find "$TMP/data/objects/$1" -path '*/@v/*' -type f ! -name '*.meta' ! -name '*.dm'; }
# Checks that every object of bucket $1 is sealed: the magic, no zip, no marker.
all_sealed() {
  local n=0 f
  for f in $(objects_of "$1"); do
    n=$((n + 1))
    [ "$(head -c 8 "$f")" = SLKMSENV ] || { echo "not sealed: $f" >"$TMP/out"; return 1; }
    grep -q "$MARKER" "$f" && { echo "plaintext in $f" >"$TMP/out"; return 1; }
  done
  [ "$n" -ge 2 ] || { echo "only $n objects" >"$TMP/out"; return 1; }
}
first_error() { # pipeline name -> the first action's errorDetails.message
  cp_ get-pipeline-state --name "$1" >"$TMP/out" 2>&1
  json 'd["stageStates"][0]["actionStates"][0]["latestExecution"]["errorDetails"]["message"]'
}

pipeline sealed kms-artifacts ', "encryptionKey": {"id": "alias/pipeline", "type": "KMS"}' && ok ||
  bad "create-pipeline with encryptionKey alias/pipeline"
wait_latest sealed
[ "$st" = Succeeded ] && ok || { first_error sealed >/dev/null; bad "the encrypted pipeline succeeds: $st"; }
all_sealed kms-artifacts && ok || bad "every artifact object on disk is sealed, not a zip or plaintext"
grep -rq "$MARKER" "$TMP/data/objects/kms-artifacts" && bad "the marker is nowhere in the bucket" || ok
grep -q "$key_arn" $(objects_of kms-artifacts | head -1) && ok || bad "a sealed object names its key"

pipeline by-arn kms-artifacts ", \"encryptionKey\": {\"id\": \"$key_arn\", \"type\": \"KMS\"}" &&
  wait_latest by-arn && [ "$st" = Succeeded ] && ok || bad "a pipeline naming the key by ARN succeeds: $st"

# Without a key the bucket's default encryption decides: none stores zips,
# AES256 seals under alias/aws/s3 (made on first use).
pipeline plain plain-artifacts '' && wait_latest plain && [ "$st" = Succeeded ] && ok ||
  bad "an unencrypted pipeline succeeds: $st"
[ "$(head -c 2 "$(objects_of plain-artifacts | head -1)")" = PK ] && ok || bad "an unencrypted store keeps zips"
aws s3api put-bucket-encryption --bucket default-artifacts "${EP[@]}" --server-side-encryption-configuration \
  '{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"}}]}' >"$TMP/out" 2>&1 &&
  ok || bad "put-bucket-encryption"
pipeline defaulted default-artifacts '' && wait_latest defaulted && [ "$st" = Succeeded ] && ok ||
  bad "a pipeline on a bucket with default encryption succeeds: $st"
all_sealed default-artifacts && ok || bad "the default-encrypted bucket's objects are sealed"
kms describe-key --key-id alias/aws/s3 >"$TMP/out" 2>&1 && [ "$(json 'd["KeyMetadata"]["KeyManager"]')" = AWS ] &&
  ok || bad "alias/aws/s3 is an AWS managed key made on first use"

# 6. The wrong key fails the first action, naming the key and the object.
pipeline doomed kms-artifacts ", \"encryptionKey\": {\"id\": \"$other\", \"type\": \"KMS\"}" && ok ||
  bad "create-pipeline with a key pending deletion"
wait_latest doomed
[ "$st" = Failed ] && ok || bad "a pipeline whose key is pending deletion fails: $st"
msg=$(first_error doomed)
case "$msg" in *"$other"*"pending deletion"*) ok ;; *) bad "the error names the key pending deletion: $msg" ;; esac
case "$msg" in *"kms-artifacts/doomed/Code/"*) ok ;; *) bad "the error names the object: $msg" ;; esac
pipeline missing kms-artifacts ', "encryptionKey": {"id": "alias/nope", "type": "KMS"}' && ok ||
  bad "create-pipeline with a missing alias"
wait_latest missing
msg=$(first_error missing)
[ "$st" = Failed ] && case "$msg" in *"kms-artifacts/missing/Code/"*"alias/nope"*) true ;; *) false ;; esac && ok ||
  bad "a pipeline naming a missing alias fails naming it and the object: $st: $msg"

# 7. Disabling the key after the fact: reading its sealed objects fails clearly.
kms disable-key --key-id alias/pipeline >"$TMP/out" 2>&1
cp_ start-pipeline-execution --name sealed >"$TMP/out" 2>&1
rerun=$(json 'd["pipelineExecutionId"]')
for _ in $(seq 1 300); do
  cp_ get-pipeline-execution --pipeline-name sealed --pipeline-execution-id "$rerun" >"$TMP/out" 2>&1
  st=$(json 'd["pipelineExecution"]["status"]' 2>/dev/null)
  [ "$st" = Succeeded ] || [ "$st" = Failed ] && break
  sleep 0.2
done
msg=$(first_error sealed)
[ "$st" = Failed ] && case "$msg" in *"$key"*"disabled"*) true ;; *) false ;; esac && ok ||
  bad "with the key disabled the pipeline fails naming it: $st: $msg"

finish kms
