#!/usr/bin/env bash
# End-to-end: CodeDeploy on `stageline server` for on-premises style
# instances (target directories on this host), driven by the real aws CLI
# (aws deploy / codepipeline / s3): an application and a deployment group
# with onPremisesInstanceTagFilters; two registered instances tagged with
# their target directories (and one the filters leave out); a pipeline whose
# Deploy stage has the CodeDeploy action on a zip with appspec.yml, files and
# hook scripts. Revision 1 lands in both directories with the modes asked and
# its hooks run in order; get-deployment / list-deployments /
# list-deployment-targets / batch-get-deployment-targets show it. Revision 2's
# ValidateService hook fails: the action fails naming the instance, the event
# and the script, a rollback deployment runs, and the instances hold
# revision 1's files again.
# usage: tests/e2e/codedeploy.sh path/to/stageline
set -uo pipefail
BIN=$(realpath "$1")
cd "$(dirname "$0")/../.."
. tests/e2e/lib.sh

start_server
aws_env
EP=(--endpoint-url "http://127.0.0.1:$PORT" --region us-east-1)
cd_() { aws deploy "$@" "${EP[@]}"; }
cp_() { aws codepipeline "$@" "${EP[@]}"; }
HOOKS="$TMP/hooks.log"
ARN=arn:aws:iam::111122223333:user/deployer

# Waits for the latest execution of pipeline $1 to end; sets $st, $exec_id.
wait_latest() {
  st="" exec_id=""
  for _ in $(seq 1 300); do
    cp_ list-pipeline-executions --pipeline-name "$1" >"$TMP/out" 2>&1
    st=$(json 'd["pipelineExecutionSummaries"][0]["status"]' 2>/dev/null)
    [ "$st" = Succeeded ] || [ "$st" = Failed ] && break
    sleep 0.2
  done
  exec_id=$(json 'd["pipelineExecutionSummaries"][0]["pipelineExecutionId"]' 2>/dev/null)
}
# The deployment id (externalExecutionId) of the Deploy action in execution $1.
deployment_of() {
  cp_ list-action-executions --pipeline-name shop --filter "pipelineExecutionId=$1" >"$TMP/out" 2>&1
  json "[a['output']['executionResult']['externalExecutionId'] for a in d['actionExecutionDetails'] if a['actionName']=='Ship'][0]"
}
# Makes revision zip $1 tagged $2 (index.html text); $3 is the ValidateService body.
make_revision() {
  local dir="$TMP/rev-$2"
  mkdir -p "$dir/site/bin" "$dir/scripts"
  cat >"$dir/appspec.yml" <<YAML
version: 0.0
os: linux
files:
  - source: site
    destination: /srv/shop
permissions:
  - object: /srv/shop/bin
    pattern: "*.sh"
    mode: "0750"
    type: [file]
  - object: /srv/shop/index.html
    mode: 640
hooks:
  ApplicationStop:
    - location: scripts/hook.sh
  BeforeInstall:
    - location: scripts/hook.sh
  AfterInstall:
    - location: scripts/hook.sh
  ApplicationStart:
    - location: scripts/hook.sh
      timeout: 60
  ValidateService:
    - location: scripts/validate.sh
      timeout: 30
YAML
  echo "shop $2" >"$dir/site/index.html"
  printf '#!/bin/sh\necho running %s\n' "$2" >"$dir/site/bin/run.sh"
  echo "only in $2" >"$dir/site/$2-notes.txt"
  # Every hook appends: instance, revision, event, and what it can see.
  cat >"$dir/scripts/hook.sh" <<SH
#!/bin/sh
echo "\$STAGELINE_INSTANCE_NAME $2 \$LIFECYCLE_EVENT \$DEPLOYMENT_GROUP_NAME" >> "$HOOKS"
SH
  { cat "$dir/scripts/hook.sh"; echo "$3"; } >"$dir/scripts/validate.sh"
  chmod 755 "$dir/scripts/hook.sh" "$dir/scripts/validate.sh"
  rm -f "$1"
  (cd "$dir" && zip -qr "$1" .)
}

# 1. Application, deployment group, instances.
cd_ create-application --application-name shop >"$TMP/out" 2>&1
[ -n "$(json 'd["applicationId"]')" ] && ok || bad "create-application"
cd_ create-application --application-name shop >"$TMP/out" 2>&1
grep -q ApplicationAlreadyExistsException "$TMP/out" && ok || bad "a second create-application is ApplicationAlreadyExistsException"
cd_ create-deployment-group --application-name shop --deployment-group-name web \
  --service-role-arn arn:aws:iam::111122223333:role/codedeploy \
  --on-premises-instance-tag-filters Key=role,Value=web,Type=KEY_AND_VALUE >"$TMP/out" 2>&1
[ -n "$(json 'd["deploymentGroupId"]')" ] && ok || bad "create-deployment-group with onPremisesInstanceTagFilters"
cd_ create-deployment-group --application-name nope --deployment-group-name web \
  --service-role-arn arn:aws:iam::111122223333:role/codedeploy >"$TMP/out" 2>&1
grep -q ApplicationDoesNotExistException "$TMP/out" && ok || bad "a group of a missing application is ApplicationDoesNotExistException"
cd_ get-deployment-group --application-name shop --deployment-group-name web >"$TMP/out" 2>&1
[ "$(json 'd["deploymentGroupInfo"]["onPremisesInstanceTagFilters"][0]["Value"]')" = web ] && ok ||
  bad "get-deployment-group shows the tag filters"
for i in web-1 web-2 db-1; do
  cd_ register-on-premises-instance --instance-name "$i" --iam-user-arn "$ARN" >"$TMP/out" 2>&1 || bad "register $i"
  role=${i%-*}
  cd_ add-tags-to-on-premises-instances --instance-names "$i" \
    --tags "Key=role,Value=$role" "Key=stageline:target-directory,Value=$TMP/hosts/$i" >"$TMP/out" 2>&1 ||
    bad "tag $i"
done
cd_ register-on-premises-instance --instance-name web-1 --iam-user-arn "$ARN" >"$TMP/out" 2>&1
grep -q InstanceNameAlreadyRegisteredException "$TMP/out" && ok || bad "registering web-1 twice"
cd_ list-on-premises-instances --tag-filters Key=role,Value=web,Type=KEY_AND_VALUE >"$TMP/out" 2>&1
[ "$(json 'd["instanceNames"]')" = "['web-1', 'web-2']" ] && ok || bad "list-on-premises-instances by tag filter"

# 2. Revision 1 through a pipeline: S3 source, CodeDeploy deploy.
aws s3 mb s3://cd-artifacts "${EP[@]}" >"$TMP/out" 2>&1 && aws s3 mb s3://drops "${EP[@]}" >>"$TMP/out" 2>&1 &&
  ok || bad "make the buckets"
make_revision "$TMP/rev1.zip" v1 "true"
aws s3 cp "$TMP/rev1.zip" s3://drops/shop.zip "${EP[@]}" >"$TMP/out" 2>&1 && ok || bad "upload revision 1"
cat >"$TMP/shop.json" <<JSON
{"pipeline": {"name": "shop", "roleArn": "arn:aws:iam::111122223333:role/pipeline",
 "artifactStore": {"type": "S3", "location": "cd-artifacts"}, "pipelineType": "V2",
 "stages": [
  {"name": "Source", "actions": [{"name": "Drop",
    "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
    "configuration": {"S3Bucket": "drops", "S3ObjectKey": "shop.zip", "PollForSourceChanges": "false"},
    "outputArtifacts": [{"name": "Bundle"}]}]},
  {"name": "Deploy", "actions": [{"name": "Ship",
    "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "CodeDeploy", "version": "1"},
    "configuration": {"ApplicationName": "shop", "DeploymentGroupName": "web"},
    "inputArtifacts": [{"name": "Bundle"}]}]}]}}
JSON
cp_ create-pipeline --cli-input-json "file://$TMP/shop.json" >"$TMP/out" 2>&1 && ok || bad "create-pipeline shop"
wait_latest shop; exec1=$exec_id
[ "$st" = Succeeded ] && ok || { cp_ get-pipeline-state --name shop >"$TMP/out" 2>&1; bad "revision 1 deploys: $st"; }
for i in web-1 web-2; do
  [ "$(cat "$TMP/hosts/$i/srv/shop/index.html" 2>/dev/null)" = "shop v1" ] && ok || bad "$i has revision 1"
  [ "$(stat -c %a "$TMP/hosts/$i/srv/shop/bin/run.sh" 2>/dev/null)" = 750 ] && ok || bad "$i: bin/*.sh mode 0750"
  [ "$(stat -c %a "$TMP/hosts/$i/srv/shop/index.html" 2>/dev/null)" = 640 ] && ok || bad "$i: index.html mode 640"
done
[ ! -e "$TMP/hosts/db-1" ] && ok || bad "db-1 is not in the group and is untouched"
expected="web-1 v1 BeforeInstall web
web-1 v1 AfterInstall web
web-1 v1 ApplicationStart web
web-1 v1 ValidateService web
web-2 v1 BeforeInstall web
web-2 v1 AfterInstall web
web-2 v1 ApplicationStart web
web-2 v1 ValidateService web"
[ "$(cat "$HOOKS")" = "$expected" ] && ok || { cp "$HOOKS" "$TMP/out"; bad "the hooks ran in order, one instance after the other"; }

d1=$(deployment_of "$exec1")
case "$d1" in d-?????????) ok ;; *) bad "the action's external execution id is the deployment id: $d1" ;; esac
cd_ get-deployment --deployment-id "$d1" >"$TMP/out" 2>&1
[ "$(json 'd["deploymentInfo"]["status"]')" = Succeeded ] &&
  [ "$(json 'd["deploymentInfo"]["deploymentOverview"]["Succeeded"]')" = 2 ] &&
  [ "$(json 'd["deploymentInfo"]["revision"]["s3Location"]["bucket"]')" = cd-artifacts ] && ok ||
  bad "get-deployment: Succeeded on 2 instances, the revision in the artifact bucket"
cd_ list-deployments --application-name shop --deployment-group-name web >"$TMP/out" 2>&1
[ "$(json 'd["deployments"]')" = "['$d1']" ] && ok || bad "list-deployments"
cd_ list-deployment-targets --deployment-id "$d1" >"$TMP/out" 2>&1
[ "$(json 'sorted(d["targetIds"])')" = "['web-1', 'web-2']" ] && ok || bad "list-deployment-targets"
cd_ batch-get-deployment-targets --deployment-id "$d1" --target-ids web-1 web-2 >"$TMP/out" 2>&1
[ "$(json '[(e["lifecycleEventName"], e["status"]) for e in d["deploymentTargets"][0]["instanceTarget"]["lifecycleEvents"]]')" = \
  "[('ApplicationStop', 'Succeeded'), ('DownloadBundle', 'Succeeded'), ('BeforeInstall', 'Succeeded'), ('Install', 'Succeeded'), ('AfterInstall', 'Succeeded'), ('ApplicationStart', 'Succeeded'), ('ValidateService', 'Succeeded')]" ] &&
  [ "$(json 'd["deploymentTargets"][1]["instanceTarget"]["status"]')" = Succeeded ] && ok ||
  bad "batch-get-deployment-targets shows every lifecycle event Succeeded"

# 3. Revision 2 fails ValidateService on web-1: rolled back to revision 1.
: >"$HOOKS"
make_revision "$TMP/rev2.zip" v2 'echo "health check failed" >&2; exit 1'
aws s3 cp "$TMP/rev2.zip" s3://drops/shop.zip "${EP[@]}" >"$TMP/out" 2>&1 && ok || bad "upload revision 2"
cp_ start-pipeline-execution --name shop >"$TMP/out" 2>&1 && ok || bad "start-pipeline-execution"
sleep 0.5
wait_latest shop; exec2=$exec_id
[ "$st" = Failed ] && [ "$exec2" != "$exec1" ] && ok || bad "revision 2 fails: $st"
cp_ get-pipeline-state --name shop >"$TMP/out" 2>&1
msg=$(json 'd["stageStates"][1]["actionStates"][0]["latestExecution"]["errorDetails"]["message"]')
case "$msg" in *"instance web-1: ValidateService failed: script scripts/validate.sh exited with code 1"*"Rolled back"*) ok ;;
  *) bad "the action's error names the instance, the event and the script, and the rollback: $msg" ;; esac
d2=$(deployment_of "$exec2")
cd_ get-deployment --deployment-id "$d2" >"$TMP/out" 2>&1
[ "$(json 'd["deploymentInfo"]["status"]')" = Failed ] &&
  [ "$(json 'd["deploymentInfo"]["deploymentOverview"]["Failed"]')" = 1 ] &&
  [ "$(json 'd["deploymentInfo"]["deploymentOverview"]["Skipped"]')" = 1 ] && ok ||
  bad "get-deployment: Failed on web-1, web-2 Skipped (OneAtATime)"
rollback=$(json 'd["deploymentInfo"]["rollbackInfo"]["rollbackDeploymentId"]')
cd_ batch-get-deployment-targets --deployment-id "$d2" --target-ids web-1 >"$TMP/out" 2>&1
[ "$(json '[e for e in d["deploymentTargets"][0]["instanceTarget"]["lifecycleEvents"] if e["lifecycleEventName"]=="ValidateService"][0]["status"]')" = Failed ] &&
  [ "$(json '[e for e in d["deploymentTargets"][0]["instanceTarget"]["lifecycleEvents"] if e["lifecycleEventName"]=="ValidateService"][0]["diagnostics"]["scriptName"]')" = scripts/validate.sh ] &&
  [[ "$(json '[e for e in d["deploymentTargets"][0]["instanceTarget"]["lifecycleEvents"] if e["lifecycleEventName"]=="ValidateService"][0]["diagnostics"]["logTail"]')" == *"health check failed"* ]] &&
  ok || bad "the failed event has its diagnostics: script name and log tail"
cd_ get-deployment --deployment-id "$rollback" >"$TMP/out" 2>&1
[ "$(json 'd["deploymentInfo"]["status"]')" = Succeeded ] &&
  [ "$(json 'd["deploymentInfo"]["creator"]')" = codeDeployRollback ] && ok ||
  bad "the rollback deployment $rollback succeeded, created by codeDeployRollback"
for i in web-1 web-2; do
  [ "$(cat "$TMP/hosts/$i/srv/shop/index.html" 2>/dev/null)" = "shop v1" ] &&
    [ -e "$TMP/hosts/$i/srv/shop/v1-notes.txt" ] && [ ! -e "$TMP/hosts/$i/srv/shop/v2-notes.txt" ] && ok ||
    bad "$i holds revision 1's files again"
done
expected="web-1 v1 ApplicationStop web
web-1 v2 BeforeInstall web
web-1 v2 AfterInstall web
web-1 v2 ApplicationStart web
web-1 v2 ValidateService web
web-1 v1 ApplicationStop web
web-1 v1 BeforeInstall web
web-1 v1 AfterInstall web
web-1 v1 ApplicationStart web
web-1 v1 ValidateService web"
[ "$(cat "$HOOKS")" = "$expected" ] && ok || { cp "$HOOKS" "$TMP/out"; bad "revision 2 ran on web-1 only, then revision 1 again"; }
cd_ list-deployments --application-name shop --deployment-group-name web --include-only-statuses Failed >"$TMP/out" 2>&1
[ "$(json 'd["deployments"]')" = "['$d2']" ] && ok || bad "list-deployments --include-only-statuses Failed"

finish codedeploy
