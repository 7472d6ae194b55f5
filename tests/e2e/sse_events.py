"""Reads GET /events from a Stageline server, signed with SigV4 by botocore (a
real client's signer), and prints each event's id, event name and state.
usage: sse_events.py ENDPOINT CREDENTIALS_FILE QUERY COUNT [presign]
Stops after COUNT events or 10 seconds."""
import configparser
import json
import socket
import sys
import urllib.parse

from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

endpoint, credentials_file, query, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
presign = len(sys.argv) > 5 and sys.argv[5] == "presign"
ini = configparser.ConfigParser()
ini.read(credentials_file)
creds = Credentials(ini["default"]["aws_access_key_id"], ini["default"]["aws_secret_access_key"])
url = endpoint + "/events" + ("?" + query if query else "")
req = AWSRequest(method="GET", url=url)
if presign:
    SigV4QueryAuth(creds, "codepipeline", "us-east-1", expires=60).add_auth(req)
else:
    SigV4Auth(creds, "codepipeline", "us-east-1").add_auth(req)
parsed = urllib.parse.urlsplit(req.url)
target = parsed.path + ("?" + parsed.query if parsed.query else "")
sock = socket.create_connection((parsed.hostname, parsed.port), timeout=10)
head = f"GET {target} HTTP/1.1\r\nHost: {parsed.netloc}\r\n"
for k, v in req.headers.items():
    if k.lower() != "host":
        head += f"{k}: {v}\r\n"
sock.sendall((head + "\r\n").encode())
buf = b""
while b"\r\n\r\n" not in buf:
    buf += sock.recv(65536)
status_line = buf.split(b"\r\n", 1)[0].decode()
print(status_line)
if " 200 " not in status_line:
    print(buf.split(b"\r\n\r\n", 1)[1][:500].decode(errors="replace"))
    sys.exit(0)
body = buf.split(b"\r\n\r\n", 1)[1]
seen = 0
text = ""
try:
    while seen < count:
        # Chunked encoding: strip chunk-size lines crudely by parsing events
        # from the concatenated payload (sizes are hex lines on their own).
        if b"\n\n" not in body:
            more = sock.recv(65536)
            if not more:
                break
            body += more
            continue
        lines = [l for l in body.decode(errors="replace").split("\r\n")]
        body = b""
        text += "".join(l + "\n" if not all(c in "0123456789abcdefABCDEF" for c in l) or l == "" else "" for l in lines)
        while "\n\n" in text and seen < count:
            block, text = text.split("\n\n", 1)
            fields = {}
            for line in block.split("\n"):
                if ":" in line and not line.startswith(":"):
                    k, v = line.split(":", 1)
                    fields[k] = v.strip()
            if "data" in fields:
                detail = json.loads(fields["data"])["detail"]
                print(fields.get("id"), fields.get("event"), detail["state"], detail.get("stage", ""), detail.get("action", ""))
                seen += 1
except socket.timeout:
    pass
