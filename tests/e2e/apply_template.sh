#!/usr/bin/env bash
# End-to-end: `stageline apply` makes a CloudFormation template real on a
# running server: its bucket, SNS topic (with a stageline-file subscription),
# CodeCommit repository, CodeBuild project and pipeline, seen afterwards with
# the aws CLI. A push then runs the pipeline: the template's project builds,
# and the approval announces itself on the template's topic. Applying again
# with another parameter updates the project and the pipeline.
# usage: tests/e2e/apply_template.sh path/to/stageline
set -uo pipefail
BIN=$(realpath "$1")
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh
start_server
aws_env
git_env
EP=(--endpoint-url "http://127.0.0.1:$PORT" --region us-east-1)
cp_() { aws codepipeline "$@" "${EP[@]}" >"$TMP/out" 2>&1; }
NOTES="$TMP/notifications.jsonl"

cat >"$TMP/app.yaml" <<YAML
Parameters:
  Greeting: { Type: String, Default: hello }
Resources:
  Artifacts:
    Type: AWS::S3::Bucket
    Properties: { BucketName: applied-artifacts }
  Reviews:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: applied-reviews
      Subscription:
        - { Protocol: stageline-file, Endpoint: $NOTES }
  Repo:
    Type: AWS::CodeCommit::Repository
    Properties: { RepositoryName: applied-app }
  Build:
    Type: AWS::CodeBuild::Project
    Properties:
      Name: applied-build
      ServiceRole: !Sub arn:aws:iam::\${AWS::AccountId}:role/CodeBuildRole
      Artifacts: { Type: CODEPIPELINE }
      Environment:
        Type: LINUX_CONTAINER
        Image: aws/codebuild/standard:7.0
        ComputeType: BUILD_GENERAL1_SMALL
        EnvironmentVariables: [{ Name: GREETING, Value: !Ref Greeting }]
      Source:
        Type: CODEPIPELINE
        BuildSpec: |
          version: 0.2
          phases:
            build:
              commands:
                - echo "\$GREETING from the applied project"
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: { Version: "2012-10-17", Statement: [] }
  Pipeline:
    Type: AWS::CodePipeline::Pipeline
    Properties:
      Name: applied
      RoleArn: !GetAtt Role.Arn
      PipelineType: V2
      ArtifactStore: { Type: S3, Location: !Ref Artifacts }
      Stages:
        - Name: Source
          Actions:
            - Name: Source
              ActionTypeId: { Category: Source, Owner: AWS, Provider: CodeCommit, Version: "1" }
              Configuration: { RepositoryName: !GetAtt Repo.Name, BranchName: main, PollForSourceChanges: "false" }
              OutputArtifacts: [{ Name: Code }]
        - Name: Build
          Actions:
            - Name: Build
              ActionTypeId: { Category: Build, Owner: AWS, Provider: CodeBuild, Version: "1" }
              Configuration: { ProjectName: !Ref Build }
              InputArtifacts: [{ Name: Code }]
        - Name: Review
          Actions:
            - Name: Approve
              ActionTypeId: { Category: Approval, Owner: AWS, Provider: Manual, Version: "1" }
              Configuration: { NotificationArn: !Ref Reviews, CustomData: "Say !Ref Greeting" }
YAML

# 1. Apply: everything is made, in order, and the IAM role is listed as not applied.
"$BIN" apply "$TMP/app.yaml" --data-dir "$TMP/data" >"$TMP/out" 2>&1 && ok || bad "stageline apply"
grep -q "^bucket applied-artifacts: created" "$TMP/out" && grep -q "^topic applied-reviews: arn:aws:sns:us-east-1:111122223333:applied-reviews" "$TMP/out" &&
  grep -q "^repository applied-app: created" "$TMP/out" && grep -q "^project applied-build: created" "$TMP/out" &&
  grep -q "^pipeline applied: created (version 1)" "$TMP/out" && grep -q "^not applied: Role (AWS::IAM::Role)" "$TMP/out" &&
  ok || bad "apply says what it made"
aws s3api head-bucket --bucket applied-artifacts "${EP[@]}" >/dev/null 2>&1 && ok || bad "the bucket exists"
aws sns list-subscriptions-by-topic --topic-arn arn:aws:sns:us-east-1:111122223333:applied-reviews "${EP[@]}" >"$TMP/out" 2>&1
[ "$(json 'd["Subscriptions"][0]["Endpoint"]')" = "$NOTES" ] && ok || bad "the topic has the template's subscription"
aws codebuild batch-get-projects --names applied-build "${EP[@]}" >"$TMP/out" 2>&1
[ "$(json 'd["projects"][0]["environment"]["environmentVariables"][0]["value"]')" = hello ] &&
  [ "$(json 'd["projects"][0]["serviceRole"]')" = arn:aws:iam::111122223333:role/CodeBuildRole ] && ok ||
  bad "the project has the resolved parameters"

# 2. A push runs it: the template's project builds; the approval notifies the topic.
aws codecommit get-repository --repository-name applied-app "${EP[@]}" >"$TMP/out" 2>&1
url=$(json 'd["repositoryMetadata"]["cloneUrlHttp"]')
git init -q -b main "$TMP/work" && echo hi >"$TMP/work/README" && git -C "$TMP/work" add README &&
  git -C "$TMP/work" commit -qm first
git -c credential.helper= -c "credential.helper=!'$BIN' repo credential --data-dir '$TMP/data'" \
  -C "$TMP/work" push -q "$url" main >"$TMP/out" 2>&1 && ok || bad "git push"
for _ in $(seq 1 300); do
  grep -q '"Subject":"APPROVAL NEEDED' "$NOTES" 2>/dev/null && break
  sleep 0.2
done
grep -q '"Subject":"APPROVAL NEEDED: AWS CodePipeline applied for action Approve"' "$NOTES" 2>/dev/null && ok ||
  bad "the approval's notification reached the template's topic"
cp_ list-pipeline-executions --pipeline-name applied
exec_id=$(json '[s["pipelineExecutionId"] for s in d["pipelineExecutionSummaries"] if s["trigger"]["triggerType"] == "CloudWatchEvent"][0]')
"$BIN" logs "$exec_id" --pipeline-name applied --data-dir "$TMP/data" >"$TMP/out" 2>&1
grep -q "hello from the applied project" "$TMP/out" && ok || bad "the template's project ran the build"

# 3. Apply again with another parameter: updated, not duplicated.
"$BIN" apply "$TMP/app.yaml" --parameter-overrides Greeting=bonjour --data-dir "$TMP/data" >"$TMP/out" 2>&1 && ok ||
  bad "a second apply"
grep -q "^bucket applied-artifacts: exists" "$TMP/out" && grep -q "^project applied-build: updated" "$TMP/out" &&
  grep -q "^pipeline applied: updated (version 2)" "$TMP/out" && grep -q "^repository applied-app: exists" "$TMP/out" &&
  ok || bad "the second apply updates what exists"
aws codebuild batch-get-projects --names applied-build "${EP[@]}" >"$TMP/out" 2>&1
[ "$(json 'd["projects"][0]["environment"]["environmentVariables"][0]["value"]')" = bonjour ] && ok ||
  bad "the project has the new parameter"

# 4. An invalid template applies nothing.
sed 's/InputArtifacts: \[{ Name: Code }\]/InputArtifacts: [{ Name: Nope }]/; s/BucketName: applied-artifacts/BucketName: never-made/' \
  "$TMP/app.yaml" >"$TMP/bad.yaml"
"$BIN" apply "$TMP/bad.yaml" --data-dir "$TMP/data" >"$TMP/out" 2>&1
[ $? = 1 ] && grep -q "nothing was applied" "$TMP/out" &&
  ! aws s3api head-bucket --bucket never-made "${EP[@]}" >/dev/null 2>&1 && ok || bad "an invalid template applies nothing"

finish "apply template e2e"
