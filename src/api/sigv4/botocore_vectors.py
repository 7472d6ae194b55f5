#!/usr/bin/env python3
"""Signs a set of requests with botocore (the signer inside the aws CLI and
boto3) and writes them to a JSON file that botocore_vectors_test.cc verifies
with Stageline's verifier.

Usage: botocore_vectors.py OUTPUT.json

Each vector holds what the server would receive: method, request target
(path?query as sent), headers (including the Host header the HTTP client adds),
body (base64), plus the key, region, service and signing time. Fails, never
skips, when botocore is missing.
"""
import base64
import datetime
import json
import os
import random
import sys
from urllib.parse import urlsplit

try:
    import botocore
    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    from botocore.utils import percent_encode_sequence
except ImportError as e:  # pragma: no cover
    sys.exit(
        f"botocore_vectors.py: cannot import botocore ({e}). Install it "
        "(Debian: apt-get install python3-botocore, or the aws CLI) so the "
        "SigV4 interoperability test can run."
    )

KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION = "us-east-1"
WHEN = datetime.datetime(2026, 11, 27, 3, 18, 28)
AMZ_DATE = WHEN.strftime("%Y%m%dT%H%M%SZ")

# botocore reads the clock through this module-level name.
botocore.auth.get_current_datetime = lambda: WHEN


def record(name, request, signer_name, service, token=None):
    parts = urlsplit(request.url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    headers = [[k, v] for k, v in request.headers.items()]
    if not any(k.lower() == "host" for k, _ in headers):
        # What urllib3 sends: the netloc, without a default port.
        headers.insert(0, ["Host", botocore.auth._host_from_url(request.url)])
    body = request.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    return {
        "name": name,
        "signer": signer_name,
        "method": request.method,
        "target": target,
        "headers": headers,
        "body_base64": base64.b64encode(body).decode("ascii"),
        "access_key_id": KEY_ID,
        "secret": SECRET,
        "region": REGION,
        "service": service,
        "time": AMZ_DATE,
        "presigned": "X-Amz-Signature=" in target,
        "session_token": token,
    }


def sign(name, method, url, service, headers=None, body=b"", signer=botocore.auth.SigV4Auth,
         token=None, **kwargs):
    creds = Credentials(KEY_ID, SECRET, token)
    request = AWSRequest(method=method, url=url, headers=dict(headers or {}), data=body)
    signer(creds, service, REGION, **kwargs).add_auth(request)
    return record(name, request, signer.__name__, service, token)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: botocore_vectors.py OUTPUT.json")
    json_headers = {
        "X-Amz-Target": "CodePipeline_20150709.ListPipelines",
        "Content-Type": "application/x-amz-json-1.1",
        "User-Agent": "aws-cli/1.45.11 botocore/" + botocore.__version__,
    }
    rng = random.Random(42)
    big = bytes(rng.getrandbits(8) for _ in range(1 << 20))
    query = percent_encode_sequence(
        [("prefix", "my dir/ü"), ("marker", "a&b=c+d~e"), ("list-type", "2"), ("empty", "")]
    )
    v = [
        sign("post json 1.1", "POST", "http://127.0.0.1:8080/", "codepipeline",
             json_headers, b"{}"),
        sign("post json 1.1 with arguments", "POST", "http://127.0.0.1:8080/", "codepipeline",
             {**json_headers, "X-Amz-Target": "CodePipeline_20150709.GetPipeline"},
             json.dumps({"name": "my pipeline", "version": 2}).encode()),
        sign("get with an encoded query", "GET", "http://127.0.0.1:8080/items?" + query,
             "codepipeline"),
        sign("path with spaces and unicode", "GET",
             "http://127.0.0.1:8080/my%20dir/%C3%BC%2Bx/./a//file.zip", "codepipeline"),
        sign("default port dropped from Host", "POST", "http://localhost:80/", "codepipeline",
             json_headers, b"{}"),
        sign("non-default port in Host", "POST", "http://127.0.0.1:18099/", "codepipeline",
             json_headers, b"{}"),
        sign("empty body", "POST", "http://127.0.0.1:8080/", "codepipeline", json_headers, b""),
        sign("1 MiB body", "PUT", "http://127.0.0.1:8080/upload", "codepipeline",
             {"Content-Type": "application/octet-stream"}, big),
        sign("headers with runs of whitespace", "POST", "http://127.0.0.1:8080/", "codepipeline",
             {**json_headers, "X-Custom": "  a   b \t c  "}, b"{}"),
        sign("session token is signed", "POST", "http://127.0.0.1:8080/", "codepipeline",
             json_headers, b"{}", token="FQoGZXIvYXdzEXAMPLETOKEN"),
        sign("s3 put with a content hash", "PUT",
             "http://127.0.0.1:8080/bucket/my%20key/%C3%BC.zip", "s3",
             {"Content-Type": "application/zip"}, big[:4096], signer=botocore.auth.S3SigV4Auth),
        sign("presigned url (SigV4QueryAuth)", "GET",
             "http://127.0.0.1:8080/git/repo/info/refs?service=git-upload-pack", "codecommit",
             signer=botocore.auth.SigV4QueryAuth, expires=900),
        sign("presigned s3 url (S3SigV4QueryAuth)", "GET",
             "http://127.0.0.1:8080/artifacts/my%20pipeline/Source/a.zip?versionId=3", "s3",
             signer=botocore.auth.S3SigV4QueryAuth, expires=3600),
    ]
    out = {"botocore": botocore.__version__, "vectors": v}
    tmp = sys.argv[1] + ".tmp"
    with open(tmp, "w") as f:
        json.dump(out, f, indent=1)
    os.replace(tmp, sys.argv[1])
    print(f"wrote {len(v)} vectors signed by botocore {botocore.__version__} to {sys.argv[1]}")


if __name__ == "__main__":
    main()
