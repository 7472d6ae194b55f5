#!/usr/bin/env python3
"""End-to-end SigV4 check with the real aws CLI.

Usage: sigv4_aws_cli.py PATH/TO/sigv4_check

1. `sigv4_check genkey` makes a key and writes a credentials file under umask
   000; the file must be mode 0600 and `aws configure get` must read it.
2. A loopback HTTP listener (python http.server on 127.0.0.1, a free port)
   captures the requests of `aws codepipeline list-pipelines`, `aws
   codepipeline get-pipeline` and `aws s3api get-object`, answering each with
   a minimal valid response; the CLI is given the key through
   AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
3. `sigv4_check verify` must accept every captured request with that key, and
   refuse it with a changed body, another key, or another service.
Exit status 0 when every check passed; each failure is printed.
"""
import base64
import configparser
import http.server
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import threading

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


class Capture(http.server.BaseHTTPRequestHandler):
    captured = []

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        Capture.captured.append({
            "method": self.command,
            "target": self.path,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body_base64": base64.b64encode(body).decode("ascii"),
        })
        target = self.headers.get("X-Amz-Target", "")
        if target.endswith(".ListPipelines"):
            self._send(200, b'{"pipelines":[]}', "application/x-amz-json-1.1")
        elif target.endswith(".GetPipeline"):
            self._send(200, json.dumps({"pipeline": {"name": "my pipeline", "roleArn":
                       "arn:aws:iam::000000000000:role/r", "stages": []}}).encode(),
                       "application/x-amz-json-1.1")
        else:  # s3 GetObject
            self._send(200, b"zip bytes", "application/zip",
                       {"ETag": '"e0"', "Last-Modified": "Fri, 27 Nov 2026 03:18:28 GMT"})

    def _send(self, status, body, ctype, extra=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", "11111111-2222-3333-4444-555555555555")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET = do_PUT = _handle

    def log_message(self, *args):
        pass


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: sigv4_aws_cli.py PATH/TO/sigv4_check")
    tool = os.path.abspath(sys.argv[1])
    aws = shutil.which("aws")
    if aws is None:
        sys.exit("sigv4_aws_cli.py: the aws CLI is not installed (Debian: apt-get install awscli)")
    work = tempfile.mkdtemp(prefix="sigv4-e2e-")
    try:
        run(tool, aws, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)
    print("all sigv4 aws CLI checks passed")


def run(tool, aws, work):
    creds = os.path.join(work, "aws", "credentials")
    old = os.umask(0)
    try:
        gen = subprocess.run([tool, "genkey", "--credentials-file", creds], capture_output=True,
                             text=True)
    finally:
        os.umask(old)
    check(gen.returncode == 0, f"genkey writes {creds} ({gen.stderr.strip()})")
    if gen.returncode != 0:
        return
    key_id = gen.stdout.strip()
    check(len(key_id) == 20 and key_id.startswith("AKIA"), f"access key id {key_id} has AWS shape")
    mode = stat.S_IMODE(os.stat(creds).st_mode)
    check(mode == 0o600, f"credentials file mode is {oct(mode)} under umask 000 (want 0o600)")

    base_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    base_env.update({"AWS_CONFIG_FILE": os.path.join(work, "no-config"),
                     "AWS_EC2_METADATA_DISABLED": "true", "AWS_PAGER": ""})
    got = subprocess.run([aws, "configure", "get", "aws_access_key_id"], capture_output=True,
                         text=True, env={**base_env, "AWS_SHARED_CREDENTIALS_FILE": creds})
    check(got.stdout.strip() == key_id,
          f"aws configure get aws_access_key_id reads our file ({got.stdout.strip()!r})")

    parser = configparser.ConfigParser()
    parser.read(creds)
    env = {**base_env,
           "AWS_SHARED_CREDENTIALS_FILE": os.path.join(work, "none"),
           "AWS_ACCESS_KEY_ID": parser["default"]["aws_access_key_id"],
           "AWS_SECRET_ACCESS_KEY": parser["default"]["aws_secret_access_key"]}

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Capture)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    endpoint = f"http://127.0.0.1:{port}"
    calls = [
        ("list-pipelines", "codepipeline",
         [aws, "codepipeline", "list-pipelines"]),
        ("get-pipeline", "codepipeline",
         [aws, "codepipeline", "get-pipeline", "--name", "my pipeline"]),
        ("s3api get-object", "s3",
         [aws, "s3api", "get-object", "--bucket", "artifacts", "--key",
          "my pipeline/Source/\u00fc a+b.zip", os.path.join(work, "out.zip")]),
    ]
    try:
        for name, service, argv in calls:
            before = len(Capture.captured)
            out = subprocess.run(argv + ["--endpoint-url", endpoint, "--region", "us-east-1"],
                                 capture_output=True, text=True, env=env, timeout=60)
            check(out.returncode == 0, f"aws {name} succeeds against the listener "
                                       f"({out.stderr.strip()[-300:]})")
            check(len(Capture.captured) == before + 1, f"aws {name} sent one request")
            if len(Capture.captured) != before + 1:
                continue
            verify_capture(tool, creds, work, name, service, Capture.captured[-1])
    finally:
        server.shutdown()
        server.server_close()


def verify_capture(tool, creds, work, name, service, request):
    path = os.path.join(work, "request.json")

    def verify(req, svc=service, credentials=creds):
        with open(path, "w") as f:
            json.dump(req, f)
        return subprocess.run([tool, "verify", "--credentials-file", credentials, "--request", path,
                               "--service", svc], capture_output=True, text=True)

    ok = verify(request)
    check(ok.returncode == 0 and ok.stdout.startswith("OK "),
          f"{name}: sigv4_check verifies the aws CLI's request ({ok.stdout.strip()} "
          f"{ok.stderr.strip()})")

    body = base64.b64decode(request["body_base64"])
    changed = dict(request, body_base64=base64.b64encode(body + b" ").decode("ascii"))
    bad = verify(changed)
    if service == "s3":
        check(bad.returncode == 1 and "InvalidSignatureException" in bad.stdout,
              f"{name}: a body added in transit is refused ({bad.stdout.strip()[:120]})")
    else:
        check(bad.returncode == 1 and "InvalidSignatureException (400)" in bad.stdout,
              f"{name}: a changed body is refused ({bad.stdout.strip()[:120]})")

    changed = dict(request, target=request["target"] + ("&" if "?" in request["target"] else "?")
                   + "x=1")
    bad = verify(changed)
    check(bad.returncode == 1 and "does not match" in bad.stdout,
          f"{name}: a changed target is refused ({bad.stdout.strip()[:120]})")

    other = os.path.join(work, "other-credentials")
    subprocess.run([tool, "genkey", "--credentials-file", other], capture_output=True, check=True)
    bad = verify(request, credentials=other)
    check(bad.returncode == 1 and "UnrecognizedClientException (403)" in bad.stdout,
          f"{name}: a key the server does not have is refused ({bad.stdout.strip()[:120]})")

    bad = verify(request, svc="codecommit")
    check(bad.returncode == 1 and "scoped to correct service" in bad.stdout,
          f"{name}: a request for another service is refused ({bad.stdout.strip()[:120]})")


if __name__ == "__main__":
    main()
