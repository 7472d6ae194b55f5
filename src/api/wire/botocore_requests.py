#!/usr/bin/env python3
"""Serializes a request for every CodePipeline operation with botocore itself.

Usage: botocore_requests.py <seed-pipeline.json> <out.jsonl>

Each request goes through a real botocore client (client-side parameter
validation on, idempotency tokens filled in by botocore) and is captured at
'before-send', so nothing leaves the process. Parameters are generated from
botocore's own model: every member, required or not, with values that satisfy
the model's constraints (each pattern has an example below, checked with
re.fullmatch). CreatePipeline and UpdatePipeline also get the seed pipeline
from examples/. Each output line is a JSON object: operation, target,
content_type, body. wire_botocore_test dispatches them all.
"""
import datetime
import json
import re
import sys

try:
    import botocore
    import botocore.config
    import botocore.session
except ImportError:
    sys.exit("botocore_requests.py: python3 cannot import botocore; install the aws CLI "
             "(pip install awscli) or botocore, then rerun ctest")

# One value per pattern-constrained string shape of the CodePipeline model.
PATTERN_EXAMPLES = {
    "AccountId": "123456789012",
    "ActionConfigurationQueryableValue": "my_value-1",
    "ActionName": "Build.Action@1",
    "ActionNamespace": "BuildVariables",
    "ActionProvider": "CodeBuild",
    "ActionTypeOwner": "AWS",
    "AllowedAccount": "111122223333",
    "ApprovalToken": "1a2b3c4d-573f-4ea7-a339-0123456789ab",
    "ArtifactName": "SourceArtifact",
    "ArtifactStoreLocation": "my-pipeline-artifacts",
    "ClientId": "d0a82860-1234-4abc-9def-0123456789ab",
    "ClientRequestToken": "d0a82860-1234-4abc-9def-0123456789ab",
    "DisabledReason": "Paused for maintenance (release)",
    "EnvironmentVariableName": "MY_VAR",
    "EnvironmentVariableValue": "value",
    "GitBranchNamePattern": "main",
    "GitFilePathPattern": "src/**",
    "JobId": "f4f4ff82-2d11-4abc-9def-0123456789ab",
    "LambdaFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:my-fn",
    "OutputVariablesKey": "CommitId",
    "PipelineArn": "arn:aws:codepipeline:us-east-1:123456789012:my-pipeline",
    "PipelineExecutionId": "3137f7cb-7cf7-439a-b83c-d7ee30123456",
    "PipelineName": "my-pipeline",
    "PipelineVariableDescription": "The release tag",
    "PipelineVariableName": "ReleaseTag",
    "PipelineVariableValue": "v1.2.3",
    "ResourceArn": "arn:aws:codepipeline:us-east-1:123456789012:my-pipeline",
    "RoleArn": "arn:aws:iam::123456789012:role/CodePipelineServiceRole",
    "RuleExecutionToken": "token-1.2",
    "RuleName": "DeploymentWindow",
    "RuleProvider": "DeploymentWindow",
    "StageName": "Build",
    "Version": "1",
    "WebhookName": "my-webhook",
}


def fail(message):
    sys.exit("botocore_requests.py: " + message)


def value_for(shape, depth=0):
    """A value of botocore shape `shape` that satisfies its constraints."""
    t = shape.type_name
    meta = shape.metadata
    if t == "structure":
        out = {}
        for name, member in shape.members.items():
            if member.metadata.get("idempotencyToken") or member.serialization.get(
                    "idempotencyToken"):
                continue  # botocore fills it in, as it does for users
            if depth > 8 and name not in shape.required_members:
                continue
            out[name] = value_for(member, depth + 1)
        return out
    if t == "list":
        n = max(1, meta.get("min", 1))
        return [value_for(shape.member, depth + 1) for _ in range(n)]
    if t == "map":
        n = max(1, meta.get("min", 1))
        keys = [value_for(shape.key, depth + 1) for _ in range(n)]
        if len(set(keys)) != len(keys):
            keys = [k + str(i) if i else k for i, k in enumerate(keys)]
        return {k: value_for(shape.value, depth + 1) for k in keys}
    if t == "string":
        if shape.enum:
            return shape.enum[0]
        pattern = meta.get("pattern")
        if pattern is not None:
            if shape.name not in PATTERN_EXAMPLES:
                fail("no example for pattern shape %s (%s); add one" % (shape.name, pattern))
            v = PATTERN_EXAMPLES[shape.name]
            if not re.fullmatch(pattern, v):
                fail("example %r does not match %s pattern %s" % (v, shape.name, pattern))
        else:
            v = "x"
        lo, hi = meta.get("min", 0), meta.get("max", 1 << 30)
        if len(v) < lo:
            v = v + "x" * (lo - len(v))
        if len(v) > hi:
            fail("example for %s is longer than its max %d" % (shape.name, hi))
        return v
    if t in ("integer", "long"):
        lo, hi = meta.get("min", 1), meta.get("max", 1 << 31)
        return max(lo, min(hi, 5))
    if t in ("float", "double"):
        return float(meta.get("min", 1.5))
    if t == "boolean":
        return True
    if t == "timestamp":
        return datetime.datetime(2026, 11, 27, 3, 18, 28, 204000, tzinfo=datetime.timezone.utc)
    if t == "blob":
        return b"bytes"
    fail("unhandled shape type %s (%s)" % (t, shape.name))


class Captured(Exception):
    def __init__(self, request):
        super().__init__("captured")
        self.request = request


def main():
    if len(sys.argv) != 3:
        fail("usage: botocore_requests.py <seed-pipeline.json> <out.jsonl>")
    with open(sys.argv[1]) as f:
        seed = json.load(f)
    declaration = seed.get("pipeline", seed)

    session = botocore.session.get_session()
    client = session.create_client(
        "codepipeline", region_name="us-east-1", endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
        config=botocore.config.Config(parameter_validation=True, retries={"max_attempts": 0}))

    def capture(request, **kwargs):
        raise Captured(request)

    client.meta.events.register("before-send.codepipeline.*", capture)
    model = client.meta.service_model

    cases = []
    for name in model.operation_names:
        op = model.operation_model(name)
        params = value_for(op.input_shape) if op.input_shape is not None else {}
        cases.append((name, params))
    # Requests as a user writes them.
    cases += [
        ("CreatePipeline", {"pipeline": declaration, "tags": [{"key": "team", "value": "ci"}]}),
        ("UpdatePipeline", {"pipeline": declaration}),
        ("ListPipelines", {}),
        ("ListWebhooks", {"MaxResults": 10}),
        ("StartPipelineExecution", {"name": declaration["name"]}),
        ("GetPipelineState", {"name": declaration["name"]}),
    ]

    lines = []
    for name, params in cases:
        method = getattr(client, botocore.xform_name(name))
        try:
            method(**params)
        except Captured as c:
            body = c.request.body or b""
            if isinstance(body, str):
                body = body.encode()
            lines.append(json.dumps({
                "operation": name,
                "target": c.request.headers["X-Amz-Target"].decode()
                if isinstance(c.request.headers["X-Amz-Target"], bytes)
                else c.request.headers["X-Amz-Target"],
                "content_type": c.request.headers["Content-Type"].decode()
                if isinstance(c.request.headers["Content-Type"], bytes)
                else c.request.headers["Content-Type"],
                "body": body.decode("utf-8"),
            }))
            continue
        fail("%s was not captured" % name)
    with open(sys.argv[2], "w") as f:
        f.write("\n".join(lines) + "\n")
    print("botocore %s serialized %d requests (%d operations) to %s" %
          (botocore.__version__, len(lines), len(model.operation_names), sys.argv[2]))


if __name__ == "__main__":
    main()
