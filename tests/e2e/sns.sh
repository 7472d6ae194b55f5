#!/usr/bin/env bash
# End-to-end: the SNS API of issue #7 on a real `stageline server`, driven by
# the real aws CLI. An HTTP endpoint started here (a few lines of Python)
# receives the SubscriptionConfirmation, confirms by fetching its
# SubscribeURL as a real subscriber does, then receives notifications whose
# SignatureVersion 2 signature `openssl dgst -sha256 -verify` checks against
# the certificate downloaded from SigningCertURL. The local protocols
# (stageline-file, stageline-program), a retried delivery, unsubscribing,
# and a pipeline whose manual approval publishes the reference §10 message
# with the token that put-approval-result then accepts.
# usage: tests/e2e/sns.sh path/to/stageline
set -uo pipefail
BIN=$(realpath "$1")
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
bad() {
  echo "FAIL $1"
  sed 's/^/    /' "$TMP/out" 2>/dev/null | head -30
  echo "    --- server log"; tail -20 "$TMP/server.err" 2>/dev/null | sed 's/^/    /'
  fails=$((fails + 1))
}
hook=""
trap '[ -n "$hook" ] && kill "$hook" 2>/dev/null; stop_server; [ -n "${KEEP:-}" ] || rm -rf "$TMP"' EXIT
start_server
aws_env
ENDPOINT=(--endpoint-url "http://127.0.0.1:$PORT" --region us-east-1)
sns() { aws sns "$@" "${ENDPOINT[@]}" >"$TMP/out" 2>&1; }

# The subscriber: records every POST (headers and JSON body) as one line of
# $TMP/hook.jsonl, and confirms a subscription by fetching its SubscribeURL.
HOOK_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$TMP/hook.py" <<'PY'
import http.server, json, sys, urllib.request
port, log = int(sys.argv[1]), sys.argv[2]
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        record = {"headers": {k.lower(): v for k, v in self.headers.items()},
                  "body": json.loads(body)}
        if record["body"].get("Type") == "SubscriptionConfirmation":
            with urllib.request.urlopen(record["body"]["SubscribeURL"]) as r:
                record["confirmed"] = r.status
        with open(log, "a") as f:
            f.write(json.dumps(record) + "\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", port), Hook).serve_forever()
PY
python3 "$TMP/hook.py" "$HOOK_PORT" "$TMP/hook.jsonl" 2>"$TMP/hook.err" &
hook=$!
touch "$TMP/hook.jsonl"
for _ in $(seq 1 50); do python3 -c "import socket; socket.create_connection(('127.0.0.1', $HOOK_PORT))" 2>/dev/null && break; sleep 0.1; done

# Waits (at most $2 s, default 20) for a line of $TMP/hook.jsonl for which
# python expression $1 over r (the record) and b (its body) is true; prints
# the record.
wait_hook() {
  python3 - "$1" "${2:-20}" "$TMP/hook.jsonl" <<'PY'
import json, sys, time
expr, limit, path = sys.argv[1], float(sys.argv[2]), sys.argv[3]
end = time.time() + limit
while time.time() < end:
    for line in open(path):
        r = json.loads(line); b = r["body"]
        if eval(expr):
            print(line.strip()); sys.exit(0)
    time.sleep(0.1)
sys.exit(1)
PY
}
# Verifies the SignatureVersion 2 signature of the message in record file $1
# with openssl, against the certificate its SigningCertURL serves.
verify_signature() {
  python3 - "$1" "$TMP" <<'PY' || return 1
import base64, json, sys, urllib.request
b = json.load(open(sys.argv[1]))["body"]
tmp = sys.argv[2]
if b["Type"] == "Notification":
    keys = ["Message", "MessageId"] + (["Subject"] if "Subject" in b else []) + ["Timestamp", "TopicArn", "Type"]
else:
    keys = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
assert b["SignatureVersion"] == "2"
open(tmp + "/string-to-sign", "w").write("".join(k + "\n" + b[k] + "\n" for k in keys))
open(tmp + "/signature", "wb").write(base64.b64decode(b["Signature"]))
open(tmp + "/cert.pem", "wb").write(urllib.request.urlopen(b["SigningCertURL"]).read())
PY
  openssl x509 -in "$TMP/cert.pem" -pubkey -noout >"$TMP/pub.pem" &&
    openssl dgst -sha256 -verify "$TMP/pub.pem" -signature "$TMP/signature" "$TMP/string-to-sign" >"$TMP/out" 2>&1
}

# 1. Topics.
sns create-topic --name builds && ok || bad "aws sns create-topic"
topic=$(json 'd["TopicArn"]')
[ "$topic" = "arn:aws:sns:us-east-1:111122223333:builds" ] && ok || bad "the topic ARN names region, account and name (got $topic)"
sns create-topic --name builds && [ "$(json 'd["TopicArn"]')" = "$topic" ] && ok || bad "create-topic again returns the same topic"
sns list-topics && [ "$(json '[t["TopicArn"] for t in d["Topics"]]')" = "['$topic']" ] && ok || bad "list-topics"
sns create-topic --name "bad name"
grep -q "InvalidParameter" "$TMP/out" && ok || bad "a bad topic name is InvalidParameter"
sns get-topic-attributes --topic-arn "${topic}-missing"
grep -q "NotFound" "$TMP/out" && ok || bad "an unknown topic is NotFound"

# 2. An http subscription: confirmed through its SubscribeURL.
sns subscribe --topic-arn "$topic" --protocol http --notification-endpoint "http://127.0.0.1:$HOOK_PORT/hook"
[ "$(json 'd["SubscriptionArn"]')" = "pending confirmation" ] && ok || bad "an http subscription is pending confirmation"
wait_hook 'b["Type"] == "SubscriptionConfirmation" and r.get("confirmed") == 200' >"$TMP/confirmation.json" &&
  ok || bad "the endpoint gets a SubscriptionConfirmation and confirms it by its SubscribeURL"
[ "$(python3 -c "import json; print(json.load(open('$TMP/confirmation.json'))['headers']['x-amz-sns-message-type'])")" = SubscriptionConfirmation ] &&
  ok || bad "the confirmation carries x-amz-sns-message-type"
verify_signature "$TMP/confirmation.json" && ok || bad "the confirmation's signature verifies with openssl"
sns list-subscriptions-by-topic --topic-arn "$topic"
http_sub=$(json 'd["Subscriptions"][0]["SubscriptionArn"]')
[[ "$http_sub" == "$topic:"* ]] && ok || bad "the subscription is confirmed (got $http_sub)"

# 3. Publish: a signed notification reaches the endpoint.
sns publish --topic-arn "$topic" --subject "Build 42" --message "Build 42 succeeded"
message_id=$(json 'd["MessageId"]')
wait_hook "b['Type'] == 'Notification' and b['MessageId'] == '$message_id'" >"$TMP/notification.json" &&
  ok || bad "the notification reaches the endpoint"
python3 - "$TMP/notification.json" "$topic" "$http_sub" <<'PY' && ok || bad "the notification's fields and headers"
import json, sys
r = json.load(open(sys.argv[1])); b = r["body"]
assert b["Message"] == "Build 42 succeeded" and b["Subject"] == "Build 42", b
assert b["TopicArn"] == sys.argv[2] and b["UnsubscribeURL"].startswith("http://127.0.0.1:"), b
assert r["headers"]["x-amz-sns-subscription-arn"] == sys.argv[3], r["headers"]
assert r["headers"]["x-amz-sns-topic-arn"] == sys.argv[2], r["headers"]
PY
verify_signature "$TMP/notification.json" && grep -q "Verified OK" "$TMP/out" &&
  ok || bad "the notification's SHA256withRSA signature verifies against SigningCertURL's certificate"
python3 - "$TMP/notification.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); r["body"]["Message"] = "Build 42 failed"
json.dump(r, open(sys.argv[1] + ".tampered", "w"))
PY
! verify_signature "$TMP/notification.json.tampered" && ok || bad "a tampered notification does not verify"

# 4. The local protocols.
sns subscribe --topic-arn "$topic" --protocol email --notification-endpoint a@example.com
grep -q "stageline-file" "$TMP/out" && ok || bad "email is refused, naming the protocols supported"
sns subscribe --topic-arn "$topic" --protocol stageline-file --notification-endpoint "$TMP/messages.jsonl"
[[ "$(json 'd["SubscriptionArn"]')" == "$topic:"* ]] && ok || bad "a stageline-file subscription is confirmed at once"
sns subscribe --topic-arn "$topic" --protocol stageline-program \
  --notification-endpoint "cat > '$TMP/program.out'" --attributes RawMessageDelivery=true
sns publish --topic-arn "$topic" --message "to everyone"
for _ in $(seq 1 100); do [ -s "$TMP/messages.jsonl" ] && [ -s "$TMP/program.out" ] && break; sleep 0.1; done
[ "$(python3 -c "import json; print(json.loads(open('$TMP/messages.jsonl').readline())['Message'])")" = "to everyone" ] &&
  ok || bad "the file gets the notification as a JSON line"
[ "$(cat "$TMP/program.out")" = "to everyone" ] && ok || bad "the program gets the raw message on stdin"

# 5. A failed delivery is retried: the file's directory appears after the
# first attempt.
sns subscribe --topic-arn "$topic" --protocol stageline-file --notification-endpoint "$TMP/later/messages.jsonl"
retry_sub=$(json 'd["SubscriptionArn"]')
sns publish --topic-arn "$topic" --message "retried"
for _ in $(seq 1 100); do grep -q "attempt 1 failed" "$TMP/server.err" && break; sleep 0.1; done
grep -q "later/messages.jsonl: attempt 1 failed" "$TMP/server.err" && ok || bad "the failed attempt is logged"
mkdir "$TMP/later"
for _ in $(seq 1 150); do [ -s "$TMP/later/messages.jsonl" ] && break; sleep 0.1; done
grep -q '"Message":"retried"' "$TMP/later/messages.jsonl" 2>/dev/null && ok || bad "the retry delivers it"
sns unsubscribe --subscription-arn "$retry_sub" && ok || bad "unsubscribe"

# An https endpoint must have a certificate the system trusts: a self-signed
# one fails the TLS handshake, and the log says why.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/tls-key.pem" -out "$TMP/tls-cert.pem" \
  -subj /CN=localhost -days 1 >/dev/null 2>&1
TLS_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -c "
import http.server, ssl
s = http.server.HTTPServer(('127.0.0.1', $TLS_PORT), http.server.BaseHTTPRequestHandler)
c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); c.load_cert_chain('$TMP/tls-cert.pem', '$TMP/tls-key.pem')
s.socket = c.wrap_socket(s.socket, server_side=True); s.serve_forever()" 2>/dev/null &
tls=$!
for _ in $(seq 1 50); do python3 -c "import socket; socket.create_connection(('127.0.0.1', $TLS_PORT))" 2>/dev/null && break; sleep 0.1; done
sns subscribe --topic-arn "$topic" --protocol https --notification-endpoint "https://127.0.0.1:$TLS_PORT/"
for _ in $(seq 1 100); do grep -q "certificate not trusted" "$TMP/server.err" && break; sleep 0.1; done
grep -q "TLS handshake with 127.0.0.1:$TLS_PORT: certificate not trusted: self-signed certificate" "$TMP/server.err" &&
  ok || bad "an https endpoint with a self-signed certificate is refused, and the log says why"
kill "$tls" 2>/dev/null

# 6. A manual approval whose NotificationArn is the topic publishes the
# reference §10 message; its token approves.
aws s3 mb s3://sns-source "${ENDPOINT[@]}" >"$TMP/out" 2>&1
aws s3 mb s3://sns-artifacts "${ENDPOINT[@]}" >"$TMP/out" 2>&1
mkdir -p "$TMP/src" && echo hi >"$TMP/src/file.txt"
(cd "$TMP/src" && python3 -c "import zipfile; z=zipfile.ZipFile('$TMP/src.zip','w'); z.write('file.txt'); z.close()")
aws s3 cp "$TMP/src.zip" s3://sns-source/app.zip "${ENDPOINT[@]}" >"$TMP/out" 2>&1 && ok || bad "the source zip"
cat >"$TMP/pipeline.json" <<JSON
{"pipeline": {"name": "gated", "roleArn": "arn:aws:iam::111122223333:role/pipeline",
 "artifactStore": {"type": "S3", "location": "sns-artifacts"}, "pipelineType": "V2",
 "stages": [
  {"name": "Source", "actions": [{"name": "Src", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
    "configuration": {"S3Bucket": "sns-source", "S3ObjectKey": "app.zip", "PollForSourceChanges": "false"},
    "outputArtifacts": [{"name": "Code"}]}]},
  {"name": "Gate", "actions": [{"name": "Review", "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"},
    "configuration": {"NotificationArn": "$topic", "CustomData": "Ship it?", "ExternalEntityLink": "http://example.com/diff"},
    "timeoutInMinutes": 60}]}
 ]}}
JSON
aws codepipeline create-pipeline --cli-input-json "file://$TMP/pipeline.json" "${ENDPOINT[@]}" >"$TMP/out" 2>&1 &&
  ok || bad "create-pipeline with a notifying approval"
wait_hook 'b["Type"] == "Notification" and b.get("Subject", "").startswith("APPROVAL NEEDED")' 60 >"$TMP/approval.json" &&
  ok || bad "the approval's notification reaches the endpoint"
python3 - "$TMP/approval.json" <<'PY' >"$TMP/token" && ok || bad "the approval message has the reference §10 shape"
import json, sys
b = json.load(open(sys.argv[1]))["body"]
assert b["Subject"] == "APPROVAL NEEDED: AWS CodePipeline gated for action Review", b["Subject"]
m = json.loads(b["Message"])
a = m["approval"]
assert m["region"] == "us-east-1" and m["consoleLink"].endswith("/console/#/pipelines/gated"), m
assert (a["pipelineName"], a["stageName"], a["actionName"]) == ("gated", "Gate", "Review"), a
assert a["customData"] == "Ship it?" and a["externalEntityLink"] == "http://example.com/diff", a
assert "/console/#/pipelines/gated/executions/" in a["approvalReviewLink"] and a["approvalReviewLink"].endswith("/actions/Gate/Review"), a
assert len(a["expires"]) == 17 and a["expires"].endswith("Z"), a["expires"]
print(a["token"])
PY
verify_signature "$TMP/approval.json" && ok || bad "the approval notification's signature verifies"
aws codepipeline get-pipeline-state --name gated "${ENDPOINT[@]}" >"$TMP/out" 2>&1
[ "$(json 'd["stageStates"][1]["actionStates"][0]["latestExecution"]["token"]')" = "$(cat "$TMP/token")" ] &&
  ok || bad "the message's token is the waiting approval's"
aws codepipeline put-approval-result --pipeline-name gated --stage-name Gate --action-name Review \
  --result "summary=ok,status=Approved" --token "$(cat "$TMP/token")" "${ENDPOINT[@]}" >"$TMP/out" 2>&1 &&
  ok || bad "put-approval-result with the notified token"

# 7. Unsubscribing by the UnsubscribeURL stops deliveries; delete-topic.
python3 -c "import json, urllib.request; print(urllib.request.urlopen(json.load(open('$TMP/notification.json'))['body']['UnsubscribeURL']).status)" >"$TMP/out" 2>&1
[ "$(cat "$TMP/out")" = 200 ] && ok || bad "the UnsubscribeURL unsubscribes"
lines=$(wc -l <"$TMP/hook.jsonl")
sns publish --topic-arn "$topic" --message "after unsubscribing"
for _ in $(seq 1 100); do [ "$(wc -l <"$TMP/messages.jsonl")" -ge 3 ] && break; sleep 0.1; done
sleep 0.5
[ "$(wc -l <"$TMP/hook.jsonl")" = "$lines" ] && ok || bad "an unsubscribed endpoint gets nothing more"
sns delete-topic --topic-arn "$topic" && ok || bad "delete-topic"
sns list-topics && [ "$(json 'len(d["Topics"])')" = 0 ] && ok || bad "the topic is gone"
sns list-subscriptions && [ "$(json 'len(d["Subscriptions"])')" = 0 ] && ok || bad "its subscriptions went with it"

finish "sns e2e"
