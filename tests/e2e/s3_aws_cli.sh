#!/usr/bin/env bash
# End-to-end: the S3 REST API of `stageline server` driven by the real aws
# CLI (aws s3 and aws s3api) and curl, with the credentials file the server
# writes on first start. Then a pipeline whose S3 source is pinned to an
# object version.
# usage: tests/e2e/s3_aws_cli.sh path/to/stageline
set -uo pipefail
BIN=$(realpath "$1")
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
EP="http://127.0.0.1:$PORT"

start_server

aws_env
s3() { aws s3 "$@" --endpoint-url "$EP" --region us-east-1; }
s3api() { aws s3api "$@" --endpoint-url "$EP" --region us-east-1; }
cp_() { aws codepipeline "$@" --endpoint-url "$EP" --region us-east-1; }

# 1. Buckets.
s3 mb s3://e2e-bucket >"$TMP/out" 2>&1 && ok || bad "aws s3 mb"
s3 mb s3://e2e-bucket >"$TMP/out" 2>&1
grep -q "BucketAlreadyOwnedByYou" "$TMP/out" && ok || bad "a second mb is BucketAlreadyOwnedByYou"
s3api head-bucket --bucket e2e-bucket >"$TMP/out" 2>&1 && ok || bad "head-bucket"
s3 ls >"$TMP/out" 2>&1 && grep -q "e2e-bucket" "$TMP/out" && ok || bad "aws s3 ls lists the bucket"

# 2. A small file and a 50 MB file (multipart) up and back, identical.
echo "hello from stageline" >"$TMP/small.txt"
head -c 50000000 /dev/urandom >"$TMP/big.bin"
s3 cp "$TMP/small.txt" s3://e2e-bucket/dir/small.txt >"$TMP/out" 2>&1 && ok || bad "cp small up"
s3 cp "$TMP/big.bin" s3://e2e-bucket/dir/big.bin >"$TMP/out" 2>&1 && ok || bad "cp 50 MB up"
s3 cp s3://e2e-bucket/dir/small.txt "$TMP/small.back" >"$TMP/out" 2>&1 && ok || bad "cp small down"
s3 cp s3://e2e-bucket/dir/big.bin "$TMP/big.back" >"$TMP/out" 2>&1 && ok || bad "cp 50 MB down"
[ "$(sha256sum <"$TMP/small.txt")" = "$(sha256sum <"$TMP/small.back")" ] && ok || bad "small round trip"
[ "$(sha256sum <"$TMP/big.bin")" = "$(sha256sum <"$TMP/big.back")" ] && ok || bad "50 MB round trip sha256"
s3api head-object --bucket e2e-bucket --key dir/big.bin >"$TMP/out" 2>&1
[ "$(json 'd["ContentLength"]')" = 50000000 ] && json 'd["ETag"]' | grep -q -- '-[0-9]*"$' && ok ||
  bad "head-object: the 50 MB object has its size and a multipart ETag"
s3 ls s3://e2e-bucket/dir/ >"$TMP/out" 2>&1 && grep -q "big.bin" "$TMP/out" && grep -q "small.txt" "$TMP/out" &&
  ok || bad "aws s3 ls of a prefix"
s3 ls s3://e2e-bucket/ >"$TMP/out" 2>&1 && grep -q "PRE dir/" "$TMP/out" && ok || bad "aws s3 ls shows the common prefix"

# 3. copy-object, delete-objects, rm.
s3api copy-object --bucket e2e-bucket --key copy.txt --copy-source e2e-bucket/dir/small.txt >"$TMP/out" 2>&1 &&
  ok || bad "copy-object"
s3api get-object --bucket e2e-bucket --key copy.txt "$TMP/copy.back" >"$TMP/out" 2>&1 &&
  cmp -s "$TMP/copy.back" "$TMP/small.txt" && ok || bad "the copy has the source's bytes"
s3api delete-objects --bucket e2e-bucket --delete '{"Objects":[{"Key":"copy.txt"},{"Key":"dir/small.txt"}]}' \
  >"$TMP/out" 2>&1 && [ "$(json 'len(d["Deleted"])')" = 2 ] && ok || bad "delete-objects"
s3api head-object --bucket e2e-bucket --key copy.txt >"$TMP/out" 2>&1
grep -q "404" "$TMP/out" && ok || bad "a deleted object is 404"
s3 rm s3://e2e-bucket/dir/big.bin >"$TMP/out" 2>&1 && ok || bad "aws s3 rm"
s3api get-object --bucket e2e-bucket --key nope "$TMP/nope" >"$TMP/out" 2>&1
grep -q "NoSuchKey" "$TMP/out" && ok || bad "get-object of a missing key is NoSuchKey"

# 4. Versioning.
s3api put-bucket-versioning --bucket e2e-bucket --versioning-configuration Status=Enabled >"$TMP/out" 2>&1 &&
  ok || bad "put-bucket-versioning"
s3api get-bucket-versioning --bucket e2e-bucket >"$TMP/out" 2>&1 && [ "$(json 'd["Status"]')" = Enabled ] &&
  ok || bad "get-bucket-versioning"
echo one >"$TMP/v1.txt"
echo two >"$TMP/v2.txt"
s3api put-object --bucket e2e-bucket --key v.txt --body "$TMP/v1.txt" >"$TMP/out" 2>&1
v1=$(json 'd["VersionId"]')
s3api put-object --bucket e2e-bucket --key v.txt --body "$TMP/v2.txt" >"$TMP/out" 2>&1
v2=$(json 'd["VersionId"]')
[ -n "$v1" ] && [ "$v1" != "$v2" ] && ok || bad "versioned puts return distinct version ids"
s3api list-object-versions --bucket e2e-bucket --prefix v.txt >"$TMP/out" 2>&1 &&
  [ "$(json 'len(d["Versions"])')" = 2 ] && ok || bad "list-object-versions"
s3api get-object --bucket e2e-bucket --key v.txt --version-id "$v1" "$TMP/v.back" >"$TMP/out" 2>&1 &&
  cmp -s "$TMP/v.back" "$TMP/v1.txt" && ok || bad "get-object --version-id"
s3api delete-object --bucket e2e-bucket --key v.txt >"$TMP/out" 2>&1 && [ "$(json 'd["DeleteMarker"]')" = True ] &&
  ok || bad "delete-object in a versioned bucket makes a delete marker"
s3api list-object-versions --bucket e2e-bucket --prefix v.txt >"$TMP/out" 2>&1 &&
  [ "$(json 'len(d["DeleteMarkers"])')" = 1 ] && ok || bad "list-object-versions shows the marker"

# 5. A presigned URL fetched with curl; a wrong secret refused with S3's XML.
# The aws CLI v1 presigns with SigV2 unless told otherwise; Stageline speaks
# SigV4 only, so the presign uses a config that asks for s3v4.
s3api put-object --bucket e2e-bucket --key presigned.txt --body "$TMP/v1.txt" >/dev/null 2>&1
printf '[default]\ns3 =\n    signature_version = s3v4\n' >"$TMP/s3v4.config"
url=$(AWS_CONFIG_FILE="$TMP/s3v4.config" aws s3 presign s3://e2e-bucket/presigned.txt --endpoint-url "$EP" \
  --region us-east-1 2>"$TMP/out")
curl -sf "$url" >"$TMP/presigned.back" 2>"$TMP/out" && cmp -s "$TMP/presigned.back" "$TMP/v1.txt" && ok ||
  bad "a presigned URL fetched with curl"
curl -s "${url/X-Amz-Signature=/X-Amz-Signature=0}" >"$TMP/out" 2>&1
grep -q "<Code>SignatureDoesNotMatch</Code>" "$TMP/out" && ok || bad "a changed presigned URL is refused"
AWS_ACCESS_KEY_ID=$(awk '/aws_access_key_id/ {print $3}' "$TMP/data/credentials") \
  AWS_SECRET_ACCESS_KEY=wrongwrongwrongwrongwrongwrongwrongwrong \
  aws s3api list-objects-v2 --bucket e2e-bucket --endpoint-url "$EP" --region us-east-1 --debug >"$TMP/out" 2>&1
grep -q "SignatureDoesNotMatch" "$TMP/out" && grep -q "<Error><Code>SignatureDoesNotMatch" "$TMP/out" && ok ||
  bad "a wrong secret is SignatureDoesNotMatch with S3's XML error body"

# 6. A pipeline whose S3 source is pinned to an object version: its artifact
#    holds that version.
PIPELINE_TEST=${PIPELINE_TEST:-1}
if [ "$PIPELINE_TEST" = 1 ]; then
  mkdir -p "$TMP/src1" "$TMP/src2"
  echo "version one" >"$TMP/src1/file.txt"
  echo "version two" >"$TMP/src2/file.txt"
  (cd "$TMP/src1" && python3 -c "import zipfile; z=zipfile.ZipFile('$TMP/one.zip','w'); z.write('file.txt'); z.close()")
  (cd "$TMP/src2" && python3 -c "import zipfile; z=zipfile.ZipFile('$TMP/two.zip','w'); z.write('file.txt'); z.close()")
  s3api put-object --bucket e2e-bucket --key app/source.zip --body "$TMP/one.zip" >"$TMP/out" 2>&1
  zip_v1=$(json 'd["VersionId"]')
  s3api put-object --bucket e2e-bucket --key app/source.zip --body "$TMP/two.zip" >"$TMP/out" 2>&1
  s3 mb s3://e2e-artifacts >/dev/null 2>&1
  cat >"$TMP/pipeline.json" <<JSON
{"pipeline": {"name": "s3-pinned", "roleArn": "arn:aws:iam::000000000000:role/pipeline",
 "artifactStore": {"type": "S3", "location": "e2e-artifacts"},
 "pipelineType": "V2", "executionMode": "QUEUED",
 "stages": [
  {"name": "Source", "actions": [{"name": "Src", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
    "configuration": {"S3Bucket": "e2e-bucket", "S3ObjectKey": "app/source.zip", "PollForSourceChanges": "false"},
    "outputArtifacts": [{"name": "SourceOut"}], "namespace": "SourceVariables"}]},
  {"name": "Check", "actions": [{"name": "Cat", "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
    "configuration": {}, "commands": ["cat file.txt", "grep -q 'version one' file.txt", "echo etag=#{SourceVariables.ETag}"],
    "inputArtifacts": [{"name": "SourceOut"}], "outputArtifacts": []}]}
 ]}}
JSON
  cp_ create-pipeline --cli-input-json "file://$TMP/pipeline.json" >"$TMP/out" 2>&1 && ok || bad "create-pipeline with an S3 source"
  # Wait for the execution the creation started to end, then start one pinned to the first version.
  for _ in $(seq 1 100); do
    cp_ list-pipeline-executions --pipeline-name s3-pinned >"$TMP/out" 2>&1
    st=$(json 'd["pipelineExecutionSummaries"][0]["status"]' 2>/dev/null)
    [ "$st" = Succeeded ] || [ "$st" = Failed ] && break; sleep 0.1
  done
  cp_ start-pipeline-execution --name s3-pinned \
    --source-revisions "actionName=Src,revisionType=S3_OBJECT_VERSION_ID,revisionValue=$zip_v1" >"$TMP/out" 2>&1
  exec_id=$(json 'd["pipelineExecutionId"]')
  [ -n "$exec_id" ] && ok || bad "start-pipeline-execution with a sourceRevisions pin"
  for _ in $(seq 1 150); do
    cp_ get-pipeline-execution --pipeline-name s3-pinned --pipeline-execution-id "$exec_id" >"$TMP/out" 2>&1
    st=$(json 'd["pipelineExecution"]["status"]' 2>/dev/null)
    [ "$st" = Succeeded ] || [ "$st" = Failed ] && break; sleep 0.2
  done
  [ "$st" = Succeeded ] && ok || bad "the pinned execution succeeds (its artifact holds version one): $st"
  json 'd["pipelineExecution"].get("artifactRevisions", [])' | grep -q "$zip_v1" && ok ||
    bad "artifactRevisions records the pinned version id"
fi

# stageline s3, the native short forms, against what the aws CLI sees.
sl() { "$BIN" s3 "$@" --data-dir "$TMP/data"; }
sl mb s3://native-bucket >"$TMP/out" 2>&1 && grep -q "^make_bucket: native-bucket$" "$TMP/out" && ok ||
  bad "stageline s3 mb"
head -c 20000000 /dev/urandom >"$TMP/native.bin"
sl cp "$TMP/native.bin" s3://native-bucket/dir/ >"$TMP/out" 2>&1 &&
  grep -q "^upload: .*native.bin to s3://native-bucket/dir/native.bin$" "$TMP/out" && ok ||
  bad "stageline s3 cp of a 20 MB file up"
aws s3api head-object --bucket native-bucket --key dir/native.bin --endpoint-url "$EP" --region us-east-1 >"$TMP/out" 2>&1
json 'd["ETag"]' | grep -q -- '-3"$' && ok || bad "the 20 MB upload went as a 3-part multipart upload"
echo "a b" | sl cp - "s3://native-bucket/with space.txt" >"$TMP/out" 2>&1 && ok || bad "stageline s3 cp from stdin"
sl ls s3://native-bucket >"$TMP/out" 2>&1 && grep -q "PRE dir/" "$TMP/out" &&
  grep -Eq "^[0-9-]{10} [0-9:]{8} +4 with space.txt$" "$TMP/out" && ok || bad "stageline s3 ls of a bucket"
sl ls s3://native-bucket --recursive >"$TMP/out" 2>&1 && grep -q " 20000000 dir/native.bin$" "$TMP/out" &&
  ok || bad "stageline s3 ls --recursive"
sl ls >"$TMP/out" 2>&1 && grep -q " native-bucket$" "$TMP/out" && ok || bad "stageline s3 ls of the buckets"
sl cp s3://native-bucket/dir/native.bin "$TMP/native.back" >"$TMP/out" 2>&1 &&
  cmp -s "$TMP/native.bin" "$TMP/native.back" && ok || bad "stageline s3 cp of 20 MB down, in ranges, identical"
sl cp s3://native-bucket/dir/native.bin s3://native-bucket/copy.bin >"$TMP/out" 2>&1 &&
  s3 cp s3://native-bucket/copy.bin "$TMP/copy.back" >/dev/null 2>&1 && cmp -s "$TMP/native.bin" "$TMP/copy.back" &&
  ok || bad "stageline s3 cp between two objects"
[ "$(sl cp "s3://native-bucket/with space.txt" - 2>&1)" = "a b" ] && ok || bad "stageline s3 cp to stdout"
sl cp s3://native-bucket/missing "$TMP/missing" >"$TMP/out" 2>&1
[ $? = 1 ] && grep -q "(NoSuchKey)" "$TMP/out" && [ ! -e "$TMP/missing" ] && [ ! -e "$TMP/missing.stageline-partial" ] &&
  ok || bad "stageline s3 cp of a missing key fails and leaves no file"

stop_server
echo "s3_aws_cli: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
