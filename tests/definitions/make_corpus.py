#!/usr/bin/env python3
"""Writes the invalid-definition corpus: one base pipeline that is valid, and
one mutation of it per rule, each with the problem it must produce.

Run it after changing a case: python3 tests/definitions/make_corpus.py
It rewrites tests/definitions/invalid/*.json and *.expect.json. The base
pipeline is also written to tests/definitions/valid/v2-everything.json."""
import copy, json, os

HERE = os.path.dirname(os.path.abspath(__file__))

def action(name, category, provider, config=None, ins=(), outs=(), **extra):
    a = {"name": name,
         "actionTypeId": {"category": category, "owner": "AWS", "provider": provider, "version": "1"}}
    if config is not None:
        a["configuration"] = config
    if ins:
        a["inputArtifacts"] = [{"name": n} for n in ins]
    if outs:
        a["outputArtifacts"] = [{"name": n} for n in outs]
    a.update(extra)
    return a

BASE = {
    "name": "corpus-app",
    "roleArn": "arn:aws:iam::123456789012:role/PipelineRole",
    "artifactStore": {"type": "S3", "location": "corpus-artifacts",
                      "encryptionKey": {"id": "arn:aws:kms:us-east-1:123456789012:key/k1", "type": "KMS"}},
    "pipelineType": "V2",
    "executionMode": "QUEUED",
    "variables": [{"name": "Env", "defaultValue": "staging", "description": "target"}],
    "stages": [
        {"name": "Source", "actions": [
            action("App", "Source", "CodeStarSourceConnection",
                   {"ConnectionArn": "arn:aws:codestar-connections:us-east-1:123456789012:connection/abc",
                    "FullRepositoryId": "org/app", "BranchName": "main"},
                   outs=["SourceOut"], namespace="SourceVariables"),
            action("Config", "Source", "S3", {"S3Bucket": "config-bucket", "S3ObjectKey": "config.zip",
                                              "PollForSourceChanges": "false"},
                   outs=["ConfigOut"])]},
        {"name": "Build", "actions": [
            action("Compile", "Build", "CodeBuild",
                   {"ProjectName": "app-build", "PrimarySource": "SourceOut",
                    "EnvironmentVariables": "[{\"name\":\"COMMIT\",\"value\":\"#{SourceVariables.CommitId}\",\"type\":\"PLAINTEXT\"}]"},
                   ins=["SourceOut", "ConfigOut"], outs=["BuildOut"], namespace="BuildVariables", runOrder=1),
            action("UnitTest", "Test", "CodeBuild", {"ProjectName": "app-test"},
                   ins=["SourceOut"], runOrder=1),
            action("Package", "Compute", "Commands", {},
                   ins=["BuildOut"], runOrder=2, namespace="PackageVariables",
                   commands=["echo building #{BuildVariables.VERSION}", "make package"],
                   outputVariables=["PKG"],
                   environmentVariables=[{"name": "TARGET", "value": "#{variables.Env}", "type": "PLAINTEXT"}]),
        ]},
        {"name": "Deploy",
         "beforeEntry": {"conditions": [{"result": "FAIL", "rules": [
             {"name": "OnMain",
              "ruleTypeId": {"category": "Rule", "owner": "AWS", "provider": "VariableCheck", "version": "1"},
              "configuration": {"Variable": "#{SourceVariables.BranchName}", "Value": "main", "Operator": "EQ"}}]}]},
         "onFailure": {"result": "RETRY", "retryConfiguration": {"retryMode": "FAILED_ACTIONS"}},
         "actions": [
             action("Approve", "Approval", "Manual", {"CustomData": "Deploy #{PackageVariables.PKG} to #{variables.Env}?"},
                    runOrder=1, timeoutInMinutes=60),
             action("Stack", "Deploy", "CloudFormation",
                    {"ActionMode": "CREATE_UPDATE", "StackName": "app", "TemplatePath": "BuildOut::template.yaml",
                     "RoleArn": "arn:aws:iam::123456789012:role/CfnRole"},
                    ins=["BuildOut"], runOrder=2),
         ]},
    ],
    "triggers": [{"providerType": "CodeStarSourceConnection", "gitConfiguration": {
        "sourceActionName": "App",
        "push": [{"branches": {"includes": ["main", "release/**"]}, "filePaths": {"excludes": ["docs/**"]}},
                 {"tags": {"includes": ["v*"]}}],
        "pullRequest": [{"events": ["OPEN", "UPDATED"], "branches": {"includes": ["main"]}}]}}],
}

CASES = []

def case(name, mutate, rule, path, type_, message, doc=None):
    CASES.append((name, mutate, rule, path, type_, message, doc))

def st(p, i): return p["stages"][i]
def act(p, s, a): return p["stages"][s]["actions"][a]

# --- shapes (ValidationException) ---
case("name-pattern", lambda p: p.update(name="my pipeline!"), "shape.pattern", "name",
     "ValidationException", "Value 'my pipeline!' at 'pipeline.name' failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z0-9.@\\-_]+")
case("name-too-long", lambda p: p.update(name="p" * 101), "shape.length", "name",
     "ValidationException", "Member must have length less than or equal to 100")
case("stage-name-pattern", lambda p: st(p, 1).update(name="Build Stage"), "shape.pattern", "stages[1].name",
     "ValidationException", "at 'pipeline.stages.2.member.name' failed to satisfy constraint")
case("action-name-pattern", lambda p: act(p, 1, 0).update(name="compile/all"), "shape.pattern",
     "stages[1].actions[0].name", "ValidationException", "pipeline.stages.2.member.actions.1.member.name")
case("role-arn-pattern", lambda p: p.update(roleArn="PipelineRole"), "shape.pattern", "roleArn",
     "ValidationException", "arn:aws(-[\\w]+)*:iam::[0-9]{12}:role/.*")
case("run-order-range", lambda p: act(p, 1, 2).update(runOrder=1000), "shape.range",
     "stages[1].actions[2].runOrder", "ValidationException", "Member must have value less than or equal to 999")
case("run-order-zero", lambda p: act(p, 1, 1).update(runOrder=0), "shape.range",
     "stages[1].actions[1].runOrder", "ValidationException", "Member must have value greater than or equal to 1")
case("timeout-range", lambda p: act(p, 2, 0).update(timeoutInMinutes=3), "shape.range",
     "stages[2].actions[0].timeoutInMinutes", "ValidationException", "greater than or equal to 5")
case("artifact-name-pattern", lambda p: act(p, 1, 0)["outputArtifacts"][0].update(name="Build.Out"),
     "shape.pattern", "stages[1].actions[0].outputArtifacts[0].name", "ValidationException",
     "[a-zA-Z0-9_\\-]+")
case("artifact-store-location", lambda p: p["artifactStore"].update(location="bucket/folder"), "shape.pattern",
     "artifactStore.location", "ValidationException", "[a-zA-Z0-9\\-\\.]+")
case("config-value-empty", lambda p: act(p, 1, 1)["configuration"].update(ProjectName=""), "shape.length",
     "stages[1].actions[1].configuration.ProjectName", "ValidationException",
     "Map value must satisfy constraint")
case("namespace-pattern", lambda p: act(p, 0, 0).update(namespace="Source.Vars"), "shape.pattern",
     "stages[0].actions[0].namespace", "ValidationException", "[A-Za-z0-9@\\-_]+")
case("variable-name-pattern", lambda p: p["variables"][0].update(name="my var"), "shape.pattern",
     "variables[0].name", "ValidationException", "pipeline.variables.1.member.name")
case("env-var-name-pattern", lambda p: act(p, 1, 2)["environmentVariables"][0].update(name="TAR-GET"),
     "shape.pattern", "stages[1].actions[2].environmentVariables[0].name", "ValidationException", "[A-Za-z0-9_]+")
case("commands-list-size", lambda p: act(p, 1, 2).update(commands=["true"] * 51), "shape.list-size",
     "stages[1].actions[2].commands", "ValidationException", "Member must have length less than or equal to 50")
case("required-member", lambda p: p.pop("roleArn"), "shape.required", "roleArn", "ValidationException",
     "Value null at 'pipeline.roleArn' failed to satisfy constraint: Member must not be null")
case("enum-value", lambda p: act(p, 1, 0)["actionTypeId"].update(category="build"), "shape.enum",
     "stages[1].actions[0].actionTypeId.category", "ValidationException",
     "Member must satisfy enum value set: [Source, Build, Deploy, Test, Invoke, Approval, Compute]")
case("execution-mode-enum", lambda p: p.update(executionMode="QUEUE"), "shape.enum", "executionMode",
     "ValidationException", "Value 'QUEUE' at 'pipeline.executionMode'")
# --- JSON (SerializationException) ---
case("unknown-member", lambda p: act(p, 1, 0).update(inputArtifact=[{"name": "SourceOut"}]),
     "json.unknown-member", "stages[1].actions[0].inputArtifact", "SerializationException",
     "unknown member 'inputArtifact' in ActionDeclaration")
case("wrong-type", lambda p: act(p, 1, 0).update(runOrder="1"), "json.type", "stages[1].actions[0].runOrder",
     "SerializationException", "expected an integer but found a string '1'")
case("config-not-string", lambda p: act(p, 0, 1)["configuration"].update(PollForSourceChanges=False),
     "json.type", "stages[0].actions[1].configuration.PollForSourceChanges", "SerializationException",
     "expected a string but found a boolean false")
# --- pipeline structure ---
case("one-stage", lambda p: p.update(stages=p["stages"][:1]), "pipeline.stage-count", "stages",
     "InvalidStructureException", "Pipeline has only 1 stage(s). There should be a minimum of 2 stages in a pipeline")
case("no-artifact-store", lambda p: p.pop("artifactStore"), "pipeline.artifact-store-missing", "",
     "InvalidStructureException", "neither artifactStore nor artifactStores")
case("both-artifact-stores", lambda p: p.update(artifactStores={"us-east-1": {"type": "S3", "location": "b-east"}}),
     "pipeline.artifact-store-both", "artifactStores", "InvalidStructureException", "both artifactStore and artifactStores")
def cross_region(p):
    act(p, 1, 1)["region"] = "eu-west-1"
case("cross-region-no-store", cross_region, "pipeline.artifact-stores-region", "stages[1].actions[1].region",
     "InvalidStructureException", "no artifact store for that region")
def stores_missing_home(p):
    p.pop("artifactStore")
    p["artifactStores"] = {"eu-west-1": {"type": "S3", "location": "b-west"}}
case("artifact-stores-no-home-region", stores_missing_home, "pipeline.artifact-stores-region", "artifactStores",
     "InvalidStructureException", "no artifact store for the pipeline's region 'us-east-1'")
case("source-region", lambda p: act(p, 0, 0).update(region="eu-west-1"), "action.region-not-allowed",
     "stages[0].actions[0].region", "InvalidActionDeclarationException", "must run in the pipeline's region")
case("duplicate-stage", lambda p: st(p, 2).update(name="Build"), "stage.duplicate-name", "stages[2].name",
     "InvalidStageDeclarationException", "Stage name 'Build' is used more than once")
case("empty-stage", lambda p: st(p, 2).update(actions=[]), "stage.no-actions", "stages[2].actions",
     "InvalidStageDeclarationException", "has no actions")
def too_many_actions(p):
    st(p, 1)["actions"] += [action("T%d" % i, "Test", "CodeBuild", {"ProjectName": "t"}, ins=["SourceOut"], runOrder=3) for i in range(48)]
case("too-many-actions", too_many_actions, "stage.too-many-actions", "stages[1].actions",
     "InvalidStageDeclarationException", "has 51 actions; the maximum is 50")
case("duplicate-action", lambda p: act(p, 1, 1).update(name="Compile"), "action.duplicate-name",
     "stages[1].actions[1].name", "InvalidActionDeclarationException", "Action name 'Compile' is used more than once")
case("source-in-build-stage", lambda p: st(p, 1)["actions"].append(
        action("Late", "Source", "S3", {"S3Bucket": "b", "S3ObjectKey": "k"}, outs=["LateOut"])),
     "source.outside-first-stage", "stages[1].actions[3].actionTypeId.category", "InvalidStructureException",
     "source actions may only be in the first stage")
case("first-stage-without-source", lambda p: st(p, 0).update(actions=[act(p, 1, 1)]),
     "source.first-stage-needs-source", "stages[0]", "InvalidStructureException", "has no source action")
case("build-in-first-stage", lambda p: st(p, 0)["actions"].append(
        action("Lint", "Test", "CodeBuild", {"ProjectName": "lint"}, ins=["SourceOut"], runOrder=2)),
     "source.first-stage-only-sources", "stages[0].actions[2].actionTypeId.category", "InvalidStructureException",
     "may contain only source actions")
# --- action types ---
case("unknown-provider", lambda p: act(p, 1, 1)["actionTypeId"].update(provider="CodeBiuld"), "action.unknown-type",
     "stages[1].actions[1].actionTypeId", "InvalidActionDeclarationException",
     "ActionType (Category: 'Test', Provider: 'CodeBiuld', Owner: 'AWS', Version: '1') in action 'UnitTest' is not available in region 'US_EAST_1'")
case("wrong-category", lambda p: act(p, 2, 0)["actionTypeId"].update(category="Deploy"), "action.unknown-type",
     "stages[2].actions[0].actionTypeId", "InvalidActionDeclarationException", "Provider: 'Manual'")
case("custom-type-missing", lambda p: act(p, 1, 1)["actionTypeId"].update(owner="Custom", provider="Jenkins"),
     "action.unknown-type", "stages[1].actions[1].actionTypeId", "InvalidActionDeclarationException",
     "Owner: 'Custom'")
case("too-few-inputs", lambda p: act(p, 1, 1).pop("inputArtifacts"), "action.input-count",
     "stages[1].actions[1].inputArtifacts", "InvalidActionDeclarationException",
     "Action UnitTest declares 0 input artifacts which is less than the minimum count (1)")
case("too-many-outputs", lambda p: act(p, 0, 0)["outputArtifacts"].append({"name": "Extra"}), "action.output-count",
     "stages[0].actions[0].outputArtifacts", "InvalidActionDeclarationException",
     "declares 2 output artifacts which is more than the maximum count (1)")
case("approval-with-input", lambda p: act(p, 2, 0).update(inputArtifacts=[{"name": "BuildOut"}]), "action.input-count",
     "stages[2].actions[0].inputArtifacts", "InvalidActionDeclarationException", "more than the maximum count (0)")
case("missing-config", lambda p: act(p, 1, 1)["configuration"].pop("ProjectName"), "action.config-required",
     "stages[1].actions[1].configuration", "InvalidActionDeclarationException",
     "is missing required configuration 'ProjectName'")
case("config-enum", lambda p: act(p, 0, 1)["configuration"].update(PollForSourceChanges="no"), "action.config-value",
     "stages[0].actions[1].configuration.PollForSourceChanges", "InvalidActionDeclarationException",
     "allowed values are true, false")
case("secret-mask", lambda p: st(p, 0)["actions"].__setitem__(1, {
        "name": "Legacy", "actionTypeId": {"category": "Source", "owner": "ThirdParty", "provider": "GitHub", "version": "1"},
        "configuration": {"Owner": "org", "Repo": "cfg", "Branch": "main", "OAuthToken": "****"},
        "outputArtifacts": [{"name": "ConfigOut"}]}),
     "action.secret-mask", "stages[0].actions[1].configuration.OAuthToken", "InvalidActionDeclarationException",
     "\"****\" may be used in secret properties only when updating an existing action.")
case("timeout-on-build", lambda p: act(p, 1, 0).update(timeoutInMinutes=30), "action.timeout-not-allowed",
     "stages[1].actions[0].timeoutInMinutes", "InvalidActionDeclarationException", "only manual approval actions accept")
case("primary-source-missing", lambda p: act(p, 1, 0)["configuration"].pop("PrimarySource"), "codebuild.primary-source",
     "stages[1].actions[0].configuration", "InvalidActionDeclarationException", "needs PrimarySource")
case("codebuild-env-json", lambda p: act(p, 1, 1)["configuration"].update(EnvironmentVariables="COMMIT=abc"),
     "codebuild.environment-variables", "stages[1].actions[1].configuration.EnvironmentVariables",
     "InvalidActionDeclarationException", "must be a JSON array")
case("s3-deploy-object-key", lambda p: st(p, 2)["actions"].append(action(
        "Upload", "Deploy", "S3", {"BucketName": "site", "Extract": "false"}, ins=["BuildOut"], runOrder=3)),
     "s3deploy.object-key", "stages[2].actions[2].configuration", "InvalidActionDeclarationException",
     "has Extract false, so it needs ObjectKey")
case("cfn-template-artifact", lambda p: act(p, 2, 1)["configuration"].update(TemplatePath="BuildOutput::template.yaml"),
     "cloudformation.artifact-path", "stages[2].actions[1].configuration.TemplatePath",
     "InvalidActionDeclarationException", "names artifact 'BuildOutput', which is not one of its input artifacts")
case("cfn-change-set-name", lambda p: act(p, 2, 1)["configuration"].update(ActionMode="CHANGE_SET_REPLACE"),
     "cloudformation.change-set-name", "stages[2].actions[1].configuration", "InvalidActionDeclarationException",
     "needs ChangeSetName")
case("cfn-template-path", lambda p: act(p, 2, 1)["configuration"].pop("TemplatePath"),
     "cloudformation.template-path", "stages[2].actions[1].configuration", "InvalidActionDeclarationException",
     "needs TemplatePath")
# --- Commands action ---
case("commands-missing", lambda p: act(p, 1, 2).pop("commands"), "commands.required", "stages[1].actions[2].commands",
     "InvalidActionDeclarationException", "Action Package must have a non-empty commands field")
case("commands-on-codebuild", lambda p: act(p, 1, 1).update(commands=["make test"]), "commands.field-not-allowed",
     "stages[1].actions[1].commands", "InvalidActionDeclarationException", "only for Compute/AWS/Commands actions")
case("commands-multiline", lambda p: act(p, 1, 2)["commands"].__setitem__(1, "make\nmake install"),
     "commands.multiline", "stages[1].actions[2].commands[1]", "InvalidActionDeclarationException",
     "each command must be a single line")
case("commands-duplicate-env", lambda p: act(p, 1, 2)["environmentVariables"].append(
        {"name": "TARGET", "value": "x"}), "commands.duplicate-env",
     "stages[1].actions[2].environmentVariables[1].name", "InvalidActionDeclarationException", "set more than once")
# --- artifacts ---
case("input-not-produced", lambda p: act(p, 2, 1)["inputArtifacts"][0].update(name="BuildOutput"),
     "artifact.input-not-produced", "stages[2].actions[1].inputArtifacts[0].name", "InvalidActionDeclarationException",
     "Input Artifact Bundle BuildOutput in action 'Stack' is not declared as Output Artifact Bundle in any of the preceding actions")
case("input-same-run-order", lambda p: act(p, 1, 1)["inputArtifacts"].__setitem__(0, {"name": "BuildOut"}),
     "artifact.input-not-produced", "stages[1].actions[1].inputArtifacts[0].name", "InvalidActionDeclarationException",
     "with runOrder 1, which does not run before it")
case("input-from-later-stage", lambda p: act(p, 1, 1)["inputArtifacts"].__setitem__(0, {"name": "PackageOut2"}) or
        act(p, 2, 1).update(outputArtifacts=[{"name": "PackageOut2"}]),
     "artifact.input-not-produced", "stages[1].actions[1].inputArtifacts[0].name", "InvalidActionDeclarationException",
     "a later stage")
case("duplicate-output", lambda p: act(p, 1, 1).update(outputArtifacts=[{"name": "BuildOut"}]),
     "artifact.output-duplicate", "stages[1].actions[1].outputArtifacts[0].name", "InvalidStructureException",
     "Output Artifact Bundle name must be unique within the pipeline. BuildOut has been used more than once")
case("duplicate-input", lambda p: act(p, 1, 1)["inputArtifacts"].append({"name": "SourceOut"}),
     "artifact.input-duplicate", "stages[1].actions[1].inputArtifacts[1].name", "InvalidActionDeclarationException",
     "more than once")
# --- namespaces and variables ---
case("duplicate-namespace", lambda p: act(p, 1, 1).update(namespace="BuildVariables"), "namespace.duplicate",
     "stages[1].actions[1].namespace", "InvalidActionDeclarationException",
     "Namespaces must be unique across the pipeline definition. The following occur more than once in the pipeline. StageName=[Build], ActionName=[UnitTest], Namespace=[BuildVariables]")
case("reserved-namespace", lambda p: act(p, 1, 1).update(namespace="variables"), "namespace.reserved",
     "stages[1].actions[1].namespace", "InvalidActionDeclarationException", "is reserved by CodePipeline")
case("namespace-is-artifact", lambda p: act(p, 1, 1).update(namespace="SourceOut"), "namespace.artifact-conflict",
     "stages[1].actions[1].namespace", "InvalidActionDeclarationException", "same name as an artifact")
case("unknown-namespace", lambda p: act(p, 2, 0)["configuration"].update(CustomData="#{BuildVars.VERSION}"),
     "variable.unknown-namespace", "stages[2].actions[0].configuration.CustomData", "InvalidActionDeclarationException",
     "uses namespace 'BuildVars', which no action declares")
case("variable-not-earlier", lambda p: act(p, 1, 1)["configuration"].update(ProjectName="#{PackageVariables.PKG}"),
     "variable.not-earlier", "stages[1].actions[1].configuration.ProjectName", "InvalidActionDeclarationException",
     "which does not run before it")
case("undeclared-pipeline-variable", lambda p: act(p, 1, 2)["environmentVariables"][0].update(value="#{variables.Stage}"),
     "variable.undeclared", "stages[1].actions[2].environmentVariables[0].value", "InvalidActionDeclarationException",
     "refers to pipeline variable 'Stage', which the pipeline does not declare")
case("pipeline-variable-in-source", lambda p: act(p, 0, 0)["configuration"].update(BranchName="#{variables.Env}"),
     "variable.in-source", "stages[0].actions[0].configuration.BranchName", "InvalidActionDeclarationException",
     "source actions cannot use pipeline-level variables")
case("unknown-variable-key", lambda p: act(p, 1, 1)["configuration"].update(ProjectName="#{SourceVariables.CommitID}"),
     "variable.unknown-key", "stages[1].actions[1].configuration.ProjectName", "InvalidActionDeclarationException",
     "CodeStarSourceConnection actions do not produce 'CommitID'")
case("codepipeline-variable-key", lambda p: act(p, 1, 1)["configuration"].update(ProjectName="#{codepipeline.ExecutionId}"),
     "variable.unknown-key", "stages[1].actions[1].configuration.ProjectName", "InvalidActionDeclarationException",
     "the codepipeline namespace has only PipelineExecutionId")
case("malformed-reference", lambda p: act(p, 1, 1)["configuration"].update(ProjectName="#{SourceVariables}"),
     "variable.malformed", "stages[1].actions[1].configuration.ProjectName", "InvalidActionDeclarationException",
     "must have the form #{Namespace.Variable}")
case("duplicate-pipeline-variable", lambda p: p["variables"].append({"name": "Env"}), "variable.duplicate",
     "variables[1].name", "InvalidStructureException", "declared more than once")
# --- V2 gating, execution modes ---
case("v1-with-variables", lambda p: p.update(pipelineType="V1", executionMode="SUPERSEDED", triggers=[]) or
        [s.pop(k, None) for s in p["stages"] for k in ("beforeEntry", "onFailure")] and
        st(p, 1)["actions"].pop(2) and st(p, 2)["actions"][0]["configuration"].update(CustomData="Deploy?"),
     "pipeline.v2-only", "variables", "InvalidStructureException", "Pipeline-level variables can only be used with V2 pipelines")
case("v1-queued", lambda p: p.update(pipelineType="V1"), "pipeline.v2-only", "executionMode", "InvalidStructureException",
     "Execution mode QUEUED can only be used with V2 pipelines")
case("v1-tag-trigger", lambda p: p.pop("pipelineType"), "pipeline.v2-only", "triggers[0].gitConfiguration.push[1].tags",
     "InvalidStructureException", "Triggers on tag can only be used with V2 pipelines")
case("parallel-rollback", lambda p: p.update(executionMode="PARALLEL") or st(p, 2).update(onFailure={"result": "ROLLBACK"}),
     "parallel.no-rollback", "stages[2].onFailure.result", "InvalidStructureException",
     "Pipelines in PARALLEL mode cannot roll back stages")
# --- conditions and rules ---
case("before-entry-rollback", lambda p: st(p, 2)["beforeEntry"]["conditions"][0].update(result="ROLLBACK"),
     "condition.result-not-allowed", "stages[2].beforeEntry.conditions[0].result", "InvalidStageDeclarationException",
     "beforeEntry condition result ROLLBACK is not allowed")
case("retry-config-without-retry", lambda p: st(p, 2)["onFailure"].update(result="ROLLBACK"),
     "condition.retry-configuration", "stages[2].onFailure.retryConfiguration", "InvalidStageDeclarationException",
     "applies only when onFailure.result is RETRY")
case("on-failure-empty", lambda p: st(p, 2).update(onFailure={}), "condition.empty", "stages[2].onFailure",
     "InvalidStageDeclarationException", "neither a result nor conditions")
case("condition-without-rules", lambda p: st(p, 2)["beforeEntry"]["conditions"][0].pop("rules"),
     "condition.no-rules", "stages[2].beforeEntry.conditions[0].rules", "InvalidStageDeclarationException",
     "a condition needs 1 to 5 rules")
case("skip-with-commands-rule", lambda p: st(p, 2)["beforeEntry"]["conditions"][0].update(result="SKIP", rules=[
        {"name": "Check", "ruleTypeId": {"category": "Rule", "owner": "AWS", "provider": "Commands", "version": "1"},
         "commands": ["test -f BuildOut/ok"], "inputArtifacts": [{"name": "BuildOut"}]}]),
     "condition.skip-rule", "stages[2].beforeEntry.conditions[0].rules[0].ruleTypeId", "InvalidStageDeclarationException",
     "Result SKIP is supported only with LambdaInvoke and VariableCheck rules")
case("unknown-rule-type", lambda p: st(p, 2)["beforeEntry"]["conditions"][0]["rules"][0]["ruleTypeId"].update(provider="VariableCheckk"),
     "rule.unknown-type", "stages[2].beforeEntry.conditions[0].rules[0].ruleTypeId.provider",
     "InvalidStageDeclarationException", "Rule type 'VariableCheckk' of rule 'OnMain' does not exist")
case("cloudwatch-rule", lambda p: st(p, 2)["beforeEntry"]["conditions"][0]["rules"][0].update(
        ruleTypeId={"category": "Rule", "owner": "AWS", "provider": "CloudWatchAlarm", "version": "1"},
        configuration={"AlarmName": "errors"}),
     "rule.unsupported", "stages[2].beforeEntry.conditions[0].rules[0].ruleTypeId.provider",
     "InvalidStageDeclarationException", "there is no Amazon CloudWatch on this machine")
case("rule-missing-config", lambda p: st(p, 2)["beforeEntry"]["conditions"][0]["rules"][0]["configuration"].pop("Operator"),
     "rule.config-required", "stages[2].beforeEntry.conditions[0].rules[0].configuration",
     "InvalidStageDeclarationException", "is missing required configuration 'Operator'")
case("rule-operator", lambda p: st(p, 2)["beforeEntry"]["conditions"][0]["rules"][0]["configuration"].update(Operator="=="),
     "rule.config-value", "stages[2].beforeEntry.conditions[0].rules[0].configuration.Operator",
     "InvalidStageDeclarationException", "is not one of EQ, NE, CONTAINS, MATCHES")
case("commands-rule-without-commands", lambda p: st(p, 2)["beforeEntry"]["conditions"][0]["rules"].__setitem__(0,
        {"name": "Check", "ruleTypeId": {"category": "Rule", "owner": "AWS", "provider": "Commands", "version": "1"}}),
     "rule.commands-required", "stages[2].beforeEntry.conditions[0].rules[0].commands",
     "InvalidStageDeclarationException", "must have a non-empty commands field")
case("commands-on-variable-rule", lambda p: st(p, 2)["beforeEntry"]["conditions"][0]["rules"][0].update(commands=["true"]),
     "rule.commands-not-allowed", "stages[2].beforeEntry.conditions[0].rules[0].commands",
     "InvalidStageDeclarationException", "does not take commands")
case("duplicate-rule", lambda p: st(p, 2)["beforeEntry"]["conditions"][0]["rules"].append(
        copy.deepcopy(st(p, 2)["beforeEntry"]["conditions"][0]["rules"][0])),
     "rule.duplicate-name", "stages[2].beforeEntry.conditions[0].rules[1].name", "InvalidStageDeclarationException",
     "Rule name 'OnMain' is used more than once")
case("rule-input-from-same-stage", lambda p: st(p, 2)["beforeEntry"]["conditions"][0]["rules"].__setitem__(0,
        {"name": "Check", "ruleTypeId": {"category": "Rule", "owner": "AWS", "provider": "Commands", "version": "1"},
         "commands": ["test -f out"], "inputArtifacts": [{"name": "StackOut"}]}) or act(p, 2, 1).update(outputArtifacts=[{"name": "StackOut"}]),
     "artifact.input-not-produced", "stages[2].beforeEntry.conditions[0].rules[0].inputArtifacts[0].name",
     "InvalidActionDeclarationException", "Input Artifact Bundle StackOut in rule 'Check'")
# --- triggers ---
case("trigger-unknown-action", lambda p: p["triggers"][0]["gitConfiguration"].update(sourceActionName="Ap"),
     "trigger.source-action", "triggers[0].gitConfiguration.sourceActionName", "InvalidStructureException",
     "Trigger names source action 'Ap', which is not a source action of this pipeline")
case("trigger-s3-source", lambda p: p["triggers"][0]["gitConfiguration"].update(sourceActionName="Config"),
     "trigger.source-provider", "triggers[0].gitConfiguration.sourceActionName", "InvalidStructureException",
     "git triggers work only with CodeStarSourceConnection source actions")
case("trigger-duplicate", lambda p: p["triggers"].append(copy.deepcopy(p["triggers"][0])), "trigger.duplicate",
     "triggers[1].gitConfiguration.sourceActionName", "InvalidStructureException", "has more than one trigger")
case("trigger-empty-filter", lambda p: p["triggers"][0]["gitConfiguration"]["push"].append({}),
     "trigger.filter-empty", "triggers[0].gitConfiguration.push[2]", "InvalidStructureException", "Push filter has no criteria")
case("trigger-tags-and-branches", lambda p: p["triggers"][0]["gitConfiguration"]["push"][1].update(branches={"includes": ["main"]}),
     "trigger.filter-combination", "triggers[0].gitConfiguration.push[1]", "InvalidStructureException",
     "cannot also filter branches or file paths")
case("trigger-duplicate-filter", lambda p: p["triggers"][0]["gitConfiguration"]["pullRequest"].append(
        copy.deepcopy(p["triggers"][0]["gitConfiguration"]["pullRequest"][0])),
     "trigger.filter-duplicate", "triggers[0].gitConfiguration.pullRequest[1]", "InvalidStructureException",
     "duplicate of an earlier one")
case("trigger-too-many-patterns", lambda p: p["triggers"][0]["gitConfiguration"]["push"][0]["branches"].update(
        includes=["b%d" % i for i in range(9)]), "shape.list-size",
     "triggers[0].gitConfiguration.push[0].branches.includes", "ValidationException", "less than or equal to 8")
# --- blockers and tags ---
case("duplicate-blocker", lambda p: st(p, 1).update(blockers=[{"name": "b", "type": "Schedule"}, {"name": "b", "type": "Schedule"}]),
     "blocker.duplicate-name", "stages[1].blockers[1].name", "InvalidBlockerDeclarationException", "used more than once")
case("system-tag", None, "tags.system", "tags[0].key", "InvalidTagsException",
     "Not allowed to modify system tags. System tags start with 'aws:'",
     doc=lambda p: {"pipeline": p, "tags": [{"key": "aws:team", "value": "x"}]})
case("too-many-tags", None, "tags.count", "tags", "TooManyTagsException", "a resource may have at most 50",
     doc=lambda p: {"pipeline": p, "tags": [{"key": "k%d" % i, "value": "v"} for i in range(51)]})
case("empty-tag-key", None, "tags.key", "tags[0].key", "InvalidTagsException", "must be 1 to 128 characters",
     doc=lambda p: {"pipeline": p, "tags": [{"key": "", "value": "x"}]})
case("long-tag-value", None, "tags.value", "tags[0].value", "InvalidTagsException", "at most 256 characters",
     doc=lambda p: {"pipeline": p, "tags": [{"key": "team", "value": "x" * 257}]})
case("duplicate-tag", None, "tags.duplicate", "tags[1].key", "InvalidTagsException", "appears more than once",
     doc=lambda p: {"pipeline": p, "tags": [{"key": "team", "value": "a"}, {"key": "team", "value": "b"}]})
def thousand_actions(p):
    for i in range(21):
        p["stages"].append({"name": "Test%d" % i, "actions": [
            action("T%d" % j, "Test", "CodeBuild", {"ProjectName": "t"}, ins=["SourceOut"]) for j in range(48)]})
case("too-many-actions-in-pipeline", thousand_actions, "pipeline.action-count", "stages", "InvalidStructureException",
     "the maximum is 1000 actions per pipeline")
case("duplicate-json-key", None, "json.duplicate-key", "pipeline.name", "SerializationException",
     "member 'name' appears more than once", doc="raw")
case("cli-input-unknown-member", None, "json.unknown-member", "pipelines", "SerializationException",
     "unknown member 'pipelines' next to \"pipeline\"",
     doc=lambda p: {"pipeline": p, "pipelines": []})


def main():
    out = os.path.join(HERE, "invalid")
    # Only this script's cases (0xx and 1xx); 2xx are hand-written templates.
    for f in os.listdir(out):
        if f[:1] in "01":
            os.remove(os.path.join(out, f))
    with open(os.path.join(HERE, "valid", "v2-everything.json"), "w") as f:
        json.dump(BASE, f, indent=2)
        f.write("\n")
    for i, (name, mutate, rule, path, type_, message, doc) in enumerate(CASES, 1):
        p = copy.deepcopy(BASE)
        if mutate:
            mutate(p)
        stem = "%03d-%s" % (i, name)
        if doc == "raw":
            text = json.dumps({"pipeline": p}, indent=2)
            text = text.replace('"pipeline": {\n', '"pipeline": {\n    "name": "first",\n', 1)
        else:
            text = json.dumps(doc(p) if doc else p, indent=2)
        with open(os.path.join(out, stem + ".json"), "w") as f:
            f.write(text + "\n")
        with open(os.path.join(out, stem + ".expect.json"), "w") as f:
            json.dump({"rule": rule, "path": path, "type": type_, "message": message}, f, indent=2)
            f.write("\n")
    print("wrote %d cases" % len(CASES))

if __name__ == "__main__":
    main()
