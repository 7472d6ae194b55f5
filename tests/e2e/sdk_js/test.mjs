// End-to-end: `stageline server` driven by the AWS SDK for JavaScript v3
// (@aws-sdk/client-codepipeline), including a custom-action job worker
// written the way a real one is (PollForJobs, AcknowledgeJob, GetJobDetails,
// PutJobSuccessResult / PutJobFailureResult).
//
// Run by tests/e2e/sdk_js.sh, twice against one data directory: first
// `node test.mjs before-restart` (everything, leaving an execution that waits
// for a worker), then, after the server was stopped and started again,
// `node test.mjs after-restart`. The runner sets:
//   STAGELINE_ENDPOINT     http://127.0.0.1:PORT
//   STAGELINE_CREDENTIALS  the credentials file the server wrote (profile default)
//   STAGELINE_REPO         the repository root (for examples/v2-pipeline.json)
//   STAGELINE_RESULTS      optional: a file this appends "<passed> <failed>" to
// Prints one line per failed check and a count; exits 1 if any check failed.
import * as cp from '@aws-sdk/client-codepipeline';
import {fromIni} from '@aws-sdk/credential-provider-ini';
import assert from 'node:assert/strict';
import {appendFileSync, readFileSync} from 'node:fs';
import {join} from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';

const endpoint = process.env.STAGELINE_ENDPOINT;
const credentialsFile = process.env.STAGELINE_CREDENTIALS;
const repo = process.env.STAGELINE_REPO;
if (!endpoint || !credentialsFile || !repo) {
  console.error(
      'set STAGELINE_ENDPOINT, STAGELINE_CREDENTIALS and STAGELINE_REPO (see tests/e2e/sdk_js.sh)');
  process.exit(2);
}
const region = 'us-east-1';
const account = '111122223333';  // the account `stageline server` serves

function client(credentials, extra = {}) {
  // maxAttempts 1: a retry would hide a server error behind a second request
  // (and the SDK would correct its clock after a clock-skew error).
  // A request that hangs fails its check instead of the whole run.
  const requestHandler = {connectionTimeout: 2000, requestTimeout: 5000};
  return new cp.CodePipelineClient(
      {endpoint, region, credentials, maxAttempts: 1, requestHandler, ...extra});
}
const api =
    client(fromIni({filepath: credentialsFile, configFilepath: '/dev/null', profile: 'default'}));
const send = (Command, input) => api.send(new Command(input));

// ---- A tiny harness: each check is a sentence; a failed one does not stop the rest.
let passed = 0;
let failed = 0;
async function check(name, fn) {
  try {
    await fn();
    passed++;
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}`);
    const text = e instanceof assert.AssertionError ? e.message : `${e.name}: ${e.message}`;
    for (const line of text.split('\n').slice(0, 30)) console.log(`    ${line}`);
  }
}

// Awaits `promise` and asserts that it is refused with the modeled error `name`.
async function rejectsWith(promise, name, messagePart) {
  try {
    const out = await promise;
    assert.fail(`expected ${name}, got success: ${JSON.stringify(out)}`);
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    assert.equal(e.name, name, `expected ${name}, got ${e.name}: ${e.message}`);
    assert.equal(e.$fault, 'client', `${name} is a client fault`);
    if (messagePart) assert.match(e.message, messagePart);
    return e;
  }
}

// Calls fn until it returns a truthy value; everything here is local, so the
// deadline is short.
async function until(what, fn, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last;
    await sleep(50);
  }
  assert.fail(`timed out waiting for ${what}`);
}

const terminal = new Set(['Succeeded', 'Failed', 'Stopped', 'Superseded', 'Cancelled']);

async function waitForExecutionEnd(pipelineName, id) {
  return until(`execution ${id} of ${pipelineName} to end`, async () => {
    const {pipelineExecution} = await send(cp.GetPipelineExecutionCommand, {
      pipelineName,
      pipelineExecutionId: id,
    });
    return terminal.has(pipelineExecution.status) ? pipelineExecution : null;
  });
}

const stageState = (state, name) => state.stageStates.find((s) => s.stageName === name);
const actionState = (stage, name) => stage.actionStates.find((a) => a.actionName === name);

// ============================================================================
// 1. The pipeline API with examples/v2-pipeline.json.
// ============================================================================
async function pipelineApi() {
  // As `aws codepipeline create-pipeline --cli-input-json`: {pipeline: <declaration>}.
  const declaration = JSON.parse(readFileSync(join(repo, 'examples/v2-pipeline.json'), 'utf8'));
  const name = declaration.name;
  const arn = `arn:aws:codepipeline:${region}:${account}:${name}`;
  let createdAt;

  await check('A new server has no pipelines', async () => {
    const out = await send(cp.ListPipelinesCommand, {});
    assert.deepEqual(out.pipelines, []);
  });

  await check(
      'CreatePipeline accepts examples/v2-pipeline.json and answers version 1', async () => {
        const out = await send(cp.CreatePipelineCommand, {pipeline: declaration});
        assert.equal(out.$metadata.httpStatusCode, 200);
        assert.equal(out.pipeline.name, name);
        assert.equal(out.pipeline.version, 1);
        assert.equal(out.pipeline.pipelineType, 'V2');
        assert.equal(out.pipeline.executionMode, 'QUEUED');
        assert.deepEqual(
            out.pipeline.stages.map((s) => s.name),
            ['Source', 'Build', 'Deploy'],
        );
      });

  await check(
      'A second CreatePipeline with the same name is PipelineNameInUseException', async () => {
        await rejectsWith(
            send(cp.CreatePipelineCommand, {pipeline: declaration}), 'PipelineNameInUseException');
      });

  await check(
      'An input artifact nobody produces is refused with a declaration exception', async () => {
        const bad = structuredClone(declaration);
        bad.name = 'sdk-bad';
        bad.stages[1].actions[0].inputArtifacts[0].name = 'NoSuchArtifact';
        try {
          await send(cp.CreatePipelineCommand, {pipeline: bad});
          assert.fail('the pipeline was created');
        } catch (e) {
          if (e instanceof assert.AssertionError) throw e;
          assert.ok(
              e instanceof cp.InvalidActionDeclarationException ||
                  e instanceof cp.InvalidStructureException ||
                  e instanceof cp.InvalidStageDeclarationException,
              `got ${e.name}: ${e.message}`,
          );
        }
      });

  await check(
      'GetPipeline returns the declaration as sent, with metadata and the ARN', async () => {
        const out = await send(cp.GetPipelineCommand, {name});
        assert.equal(out.pipeline.version, 1);
        assert.equal(out.metadata.pipelineArn, arn);
        assert.ok(out.metadata.created instanceof Date, 'metadata.created is a timestamp');
        createdAt = out.metadata.created;
        assert.ok(
            Math.abs(createdAt.getTime() - Date.now()) < 60000,
            `created ${createdAt.toISOString()} is now`);
        const build = out.pipeline.stages[1];
        assert.equal(build.actions[0].configuration.ProjectName, 'app-build');
        assert.deepEqual(
            build.actions[2].commands, ['echo building #{BuildVariables.VERSION}', 'make package']);
        assert.deepEqual(out.pipeline.variables, declaration.variables);
        assert.deepEqual(out.pipeline.triggers, declaration.triggers);
        assert.equal(
            out.pipeline.stages[2].beforeEntry.conditions[0].rules[0].ruleTypeId.provider,
            'VariableCheck');
      });

  await check('GetPipeline of a missing pipeline is PipelineNotFoundException', async () => {
    await rejectsWith(send(cp.GetPipelineCommand, {name: 'nope'}), 'PipelineNotFoundException');
  });

  await check('ListPipelines lists the pipeline with its version and type', async () => {
    const out = await send(cp.ListPipelinesCommand, {});
    assert.equal(out.pipelines.length, 1);
    const [p] = out.pipelines;
    assert.equal(p.name, name);
    assert.equal(p.version, 1);
    assert.equal(p.pipelineType, 'V2');
    assert.equal(p.executionMode, 'QUEUED');
    assert.ok(p.created instanceof Date && p.updated instanceof Date);
  });

  await check(
      'UpdatePipeline with GetPipeline\'s declaration, changed, makes version 2', async () => {
        const {pipeline} = await send(cp.GetPipelineCommand, {name});
        pipeline.variables[0].defaultValue = 'qa';
        const out = await send(cp.UpdatePipelineCommand, {pipeline});
        assert.equal(out.pipeline.version, 2);
        const now = await send(cp.GetPipelineCommand, {name});
        assert.equal(now.pipeline.version, 2);
        assert.equal(now.pipeline.variables[0].defaultValue, 'qa');
        const v1 = await send(cp.GetPipelineCommand, {name, version: 1});
        assert.equal(v1.pipeline.variables[0].defaultValue, 'staging');
      });

  await check(
      'TagResource, ListTagsForResource and UntagResource work on the pipeline ARN', async () => {
        await send(cp.TagResourceCommand, {
          resourceArn: arn,
          tags: [
            {key: 'team', value: 'ci'},
            {key: 'tier', value: 'gold'},
          ],
        });
        let out = await send(cp.ListTagsForResourceCommand, {resourceArn: arn});
        assert.deepEqual(
            [...out.tags].sort((a, b) => a.key.localeCompare(b.key)),
            [
              {key: 'team', value: 'ci'},
              {key: 'tier', value: 'gold'},
            ],
        );
        await send(cp.UntagResourceCommand, {resourceArn: arn, tagKeys: ['tier']});
        out = await send(cp.ListTagsForResourceCommand, {resourceArn: arn});
        assert.deepEqual(out.tags, [{key: 'team', value: 'ci'}]);
      });

  await check('Tagging a pipeline that does not exist is ResourceNotFoundException', async () => {
    await rejectsWith(
        send(cp.TagResourceCommand, {
          resourceArn: `arn:aws:codepipeline:${region}:${account}:nope`,
          tags: [{key: 'a', value: 'b'}],
        }),
        'ResourceNotFoundException',
    );
  });

  await check(
      'A disabled transition shows its reason in GetPipelineState, and enabling it clears it',
      async () => {
        await send(cp.DisableStageTransitionCommand, {
          pipelineName: name,
          stageName: 'Deploy',
          transitionType: 'Inbound',
          reason: 'release freeze',
        });
        let state = await send(cp.GetPipelineStateCommand, {name});
        let t = stageState(state, 'Deploy').inboundTransitionState;
        assert.equal(t.enabled, false);
        assert.equal(t.disabledReason, 'release freeze');
        assert.match(t.lastChangedBy, /^arn:aws:iam::111122223333:/);
        assert.ok(t.lastChangedAt instanceof Date);
        await send(
            cp.EnableStageTransitionCommand,
            {pipelineName: name, stageName: 'Deploy', transitionType: 'Inbound'});
        state = await send(cp.GetPipelineStateCommand, {name});
        t = stageState(state, 'Deploy').inboundTransitionState;
        assert.equal(t.enabled, true);
        assert.equal(t.disabledReason, undefined);
      });

  await check(
      'Disabling a transition of a stage that does not exist is StageNotFoundException',
      async () => {
        await rejectsWith(
            send(cp.DisableStageTransitionCommand, {
              pipelineName: name,
              stageName: 'Nope',
              transitionType: 'Inbound',
              reason: 'x',
            }),
            'StageNotFoundException',
        );
      });

  let executionId;
  await check(
      'StartPipelineExecution with a declared variable answers an execution id', async () => {
        const out = await send(cp.StartPipelineExecutionCommand, {
          name,
          variables: [{name: 'Env', value: 'prod'}],
          clientRequestToken: 'sdk-e2e-start-1',
        });
        assert.match(out.pipelineExecutionId, /^[0-9a-f-]{36}$/);
        executionId = out.pipelineExecutionId;
        const again = await send(cp.StartPipelineExecutionCommand, {
          name,
          variables: [{name: 'Env', value: 'prod'}],
          clientRequestToken: 'sdk-e2e-start-1',
        });
        assert.equal(
            again.pipelineExecutionId, executionId,
            'the same clientRequestToken is the same execution');
      });

  await check(
      'StartPipelineExecution with an undeclared variable is ValidationException', async () => {
        await rejectsWith(
            send(cp.StartPipelineExecutionCommand, {name, variables: [{name: 'Nope', value: '1'}]}),
            'ValidationException',
        );
      });

  // The pipeline's sources name a connection and an S3 object that were
  // never made, so the execution fails at its source actions with a
  // ConfigurationError that says what is missing.
  await check(
      'GetPipelineState, followed until the execution ends, shows the sources failing on what is missing',
      async () => {
        const state = await until('the Source stage of the started execution to fail', async () => {
          const s = await send(cp.GetPipelineStateCommand, {name});
          const le = stageState(s, 'Source').latestExecution;
          return le && le.pipelineExecutionId === executionId && le.status === 'Failed' ? s : null;
        });
        assert.equal(state.pipelineName, name);
        assert.equal(state.pipelineVersion, 2);
        for (const actionName of ['App', 'Config']) {
          const a = actionState(stageState(state, 'Source'), actionName);
          assert.equal(a.latestExecution.status, 'Failed', `${actionName} failed`);
          assert.equal(a.latestExecution.errorDetails.code, 'ConfigurationError');
          assert.match(a.latestExecution.errorDetails.message, /does not exist|NoSuch/);
        }
        const build = stageState(state, 'Build');
        assert.notEqual(
            build.latestExecution?.pipelineExecutionId, executionId,
            'Build never ran in this execution');
      });

  await check(
      'GetPipelineExecution shows the failed execution with its variables and trigger',
      async () => {
        const e = await waitForExecutionEnd(name, executionId);
        assert.equal(e.status, 'Failed');
        assert.equal(e.pipelineName, name);
        assert.equal(e.pipelineVersion, 2);
        assert.equal(e.executionMode, 'QUEUED');
        assert.deepEqual(e.variables, [{name: 'Env', resolvedValue: 'prod'}]);
        assert.equal(e.trigger.triggerType, 'StartPipelineExecution');
        assert.match(e.trigger.triggerDetail, /^arn:aws:iam::111122223333:/);
      });

  await check(
      'GetPipelineExecution of an unknown id is PipelineExecutionNotFoundException', async () => {
        await rejectsWith(
            send(cp.GetPipelineExecutionCommand, {
              pipelineName: name,
              pipelineExecutionId: '00000000-0000-0000-0000-000000000000',
            }),
            'PipelineExecutionNotFoundException',
        );
      });

  await check(
      'ListPipelineExecutions lists the started execution first and the one CreatePipeline started',
      async () => {
        const out = await send(cp.ListPipelineExecutionsCommand, {pipelineName: name});
        const s = out.pipelineExecutionSummaries;
        assert.equal(s.length, 2);
        assert.equal(s[0].pipelineExecutionId, executionId);
        assert.equal(s[0].status, 'Failed');
        assert.equal(s[0].trigger.triggerType, 'StartPipelineExecution');
        assert.equal(s[1].trigger.triggerType, 'CreatePipeline');
        assert.ok(s[0].startTime >= s[1].startTime);
        const page =
            await send(cp.ListPipelineExecutionsCommand, {pipelineName: name, maxResults: 1});
        assert.equal(page.pipelineExecutionSummaries.length, 1);
        assert.ok(page.nextToken, 'a first page of one has a nextToken');
        const rest = await send(cp.ListPipelineExecutionsCommand, {
          pipelineName: name,
          maxResults: 1,
          nextToken: page.nextToken,
        });
        assert.equal(
            rest.pipelineExecutionSummaries[0].pipelineExecutionId, s[1].pipelineExecutionId);
      });

  await check(
      'ListActionExecutions shows both source actions failed with their error details',
      async () => {
        const out = await send(cp.ListActionExecutionsCommand, {
          pipelineName: name,
          filter: {pipelineExecutionId: executionId},
        });
        const details = out.actionExecutionDetails;
        assert.deepEqual(details.map((d) => d.actionName).sort(), ['App', 'Config']);
        for (const d of details) {
          assert.equal(d.pipelineExecutionId, executionId);
          assert.equal(d.stageName, 'Source');
          assert.equal(d.status, 'Failed');
          assert.equal(d.pipelineVersion, 2);
          assert.equal(d.input.actionTypeId.owner, 'AWS');
          assert.equal(d.output.executionResult.errorDetails?.code, 'ConfigurationError');
        }
        const app = details.find((d) => d.actionName === 'App');
        assert.equal(app.input.configuration.FullRepositoryId, 'org/app');
        assert.equal(app.input.namespace, 'SourceVariables');
      });

  await check(
      'StopPipelineExecution of a failed execution is PipelineExecutionNotStoppableException',
      async () => {
        await rejectsWith(
            send(cp.StopPipelineExecutionCommand, {
              pipelineName: name,
              pipelineExecutionId: executionId,
              reason: 'no',
            }),
            'PipelineExecutionNotStoppableException',
        );
      });

  await check(
      'RetryStageExecution of the failed Source stage runs its actions again in the same execution',
      async () => {
        const before = await send(cp.ListActionExecutionsCommand, {
          pipelineName: name,
          filter: {pipelineExecutionId: executionId},
        });
        const out = await send(cp.RetryStageExecutionCommand, {
          pipelineName: name,
          stageName: 'Source',
          pipelineExecutionId: executionId,
          retryMode: 'FAILED_ACTIONS',
        });
        assert.equal(out.pipelineExecutionId, executionId);
        const after = await until('the retried actions to fail again', async () => {
          const l = await send(cp.ListActionExecutionsCommand, {
            pipelineName: name,
            filter: {pipelineExecutionId: executionId},
          });
          const d = l.actionExecutionDetails;
          return d.length === 4 && d.every((x) => x.status === 'Failed') ? d : null;
        });
        const beforeIds = new Set(before.actionExecutionDetails.map((d) => d.actionExecutionId));
        assert.equal(
            after.filter((d) => !beforeIds.has(d.actionExecutionId)).length, 2, 'two new attempts');
        const e = await waitForExecutionEnd(name, executionId);
        assert.equal(e.status, 'Failed');
      });

  await check(
      'RetryStageExecution of a stage that does not exist is StageNotFoundException', async () => {
        await rejectsWith(
            send(cp.RetryStageExecutionCommand, {
              pipelineName: name,
              stageName: 'Nope',
              pipelineExecutionId: executionId,
              retryMode: 'FAILED_ACTIONS',
            }),
            'StageNotFoundException',
        );
      });

  await check('DeletePipeline removes the pipeline', async () => {
    await send(cp.DeletePipelineCommand, {name});
    await rejectsWith(send(cp.GetPipelineCommand, {name}), 'PipelineNotFoundException');
    const out = await send(cp.ListPipelinesCommand, {});
    assert.deepEqual(out.pipelines, []);
  });
}

// ============================================================================
// 2. Authentication: SigV4 with a wrong secret or an unknown key.
// ============================================================================
async function authentication() {
  const text = readFileSync(credentialsFile, 'utf8');
  const accessKeyId = /aws_access_key_id\s*=\s*(\S+)/.exec(text)?.[1];

  await check(
      'The credentials file the server wrote has a default profile with a key', async () => {
        assert.match(accessKeyId ?? '', /^[A-Z0-9]{16,128}$/);
      });

  await check(
      'A request signed with a wrong secret is refused with InvalidSignatureException',
      async () => {
        const bad =
            client({accessKeyId, secretAccessKey: 'wrongwrongwrongwrongwrongwrongwrongwrong'});
        const e = await rejectsWith(
            bad.send(new cp.ListPipelinesCommand({})), 'InvalidSignatureException');
        assert.equal(e.$metadata.httpStatusCode, 400);
      });

  await check(
      'A request signed with an unknown key is refused with UnrecognizedClientException',
      async () => {
        const bad = client({accessKeyId: 'AKIAAAAAAAAAAAAAAAAA', secretAccessKey: 'x'});
        const e = await rejectsWith(
            bad.send(new cp.ListPipelinesCommand({})), 'UnrecognizedClientException');
        assert.equal(e.$metadata.httpStatusCode, 403);
      });

  await check('A request signed 20 minutes ago is refused as an expired signature', async () => {
    const creds = fromIni({filepath: credentialsFile, configFilepath: '/dev/null'});
    const late = client(creds, {systemClockOffset: -20 * 60 * 1000});
    await rejectsWith(
        late.send(new cp.ListPipelinesCommand({})), 'InvalidSignatureException',
        /Signature expired/);
  });
}

// ============================================================================
// 3. Custom actions and a job worker.
//
// The worker does not upload artifact objects: the server has no S3 API yet,
// so the output artifacts are records at the keys PollForJobs handed out and
// the build worker only checks that it is given the source's key.
// ============================================================================
const sourceType = {
  category: 'Source',
  owner: 'Custom',
  provider: 'LocalGit',
  version: '1'
};
const buildType = {
  category: 'Build',
  owner: 'Custom',
  provider: 'LocalBuild',
  version: '1'
};

// A job worker for both custom types, as a real one is written. It keeps
// what it saw so the checks below can look at it.
class Worker {
  constructor() {
    this.seen = [];  // {kind, job (from PollForJobs), details (GetJobDetails)}
    this.errors = [];
    this.commit = '4f2a9c1e0b7d3a5f6e8c9b0a1d2e3f4a5b6c7d8e';
  }

  // Polls both types once; handles whatever it got. Returns how many jobs.
  async pollOnce() {
    let n = 0;
    for (const [kind, actionTypeId] of [['source', sourceType], ['build', buildType]]) {
      const {jobs} = await send(cp.PollForJobsCommand, {actionTypeId, maxBatchSize: 5});
      for (const job of jobs) {
        n++;
        await this.handle(kind, job);
      }
    }
    return n;
  }

  // Runs the worker until `done()` is true.
  async runUntil(what, done) {
    await until(
        what,
        async () => {
          await this.pollOnce();
          return done();
        },
        15000,
    );
  }

  async handle(kind, job) {
    const ack = await send(cp.AcknowledgeJobCommand, {jobId: job.id, nonce: job.nonce});
    if (ack.status !== 'InProgress') this.errors.push(`AcknowledgeJob ${job.id}: ${ack.status}`);
    // A real worker refreshes the job (e.g. its artifact credentials) before it works.
    const {jobDetails} = await send(cp.GetJobDetailsCommand, {jobId: job.id});
    this.seen.push({kind, job, details: jobDetails});
    const data = jobDetails.data;
    const config = data.actionConfiguration.configuration;
    if (kind === 'source') {
      if (!data.continuationToken) {
        // First job: start the (pretend) clone and come back later.
        await send(cp.PutJobSuccessResultCommand, {
          jobId: job.id,
          continuationToken: `clone:${config.Repo}`,
          executionDetails:
              {summary: 'cloning', externalExecutionId: 'clone-1', percentComplete: 10},
        });
      } else {
        await send(cp.PutJobSuccessResultCommand, {
          jobId: job.id,
          currentRevision: {revision: this.commit, changeIdentifier: this.commit},
          executionDetails: {
            summary: `cloned ${config.Repo}@${config.Branch}`,
            externalExecutionId: 'clone-1',
            percentComplete: 100,
          },
          outputVariables: {CommitId: this.commit, BranchName: config.Branch},
        });
      }
    } else if (config.FailWhen === 'yes') {
      await send(cp.PutJobFailureResultCommand, {
        jobId: job.id,
        failureDetails: {
          type: 'JobFailed',
          message: `make ${config.Target}: 3 tests failed`,
          externalExecutionId: 'build-2',
        },
      });
    } else {
      await send(cp.PutJobSuccessResultCommand, {
        jobId: job.id,
        executionDetails: {summary: `built ${config.Commit}`, externalExecutionId: 'build-1'},
        outputVariables: {ImageTag: `app:${config.Commit.slice(0, 7)}`},
      });
    }
  }
}

async function customActions() {
  const name = 'sdk-custom';
  const bucket = 'sdk-artifacts';
  let crossVariables = false;
  const literalCommit = '0000000000000000000000000000000000000000';

  await check(
      'CreateCustomActionType creates a Source type and a Build type with owner Custom',
      async () => {
        const src = await send(cp.CreateCustomActionTypeCommand, {
          category: 'Source',
          provider: 'LocalGit',
          version: '1',
          settings: {entityUrlTemplate: 'https://git.example/{Config:Repo}'},
          configurationProperties: [
            {
              name: 'Repo',
              required: true,
              key: true,
              secret: false,
              queryable: false,
              type: 'String'
            },
            {
              name: 'Branch',
              required: false,
              key: false,
              secret: false,
              type: 'String',
              description: 'branch'
            },
            {name: 'Token', required: false, key: false, secret: true, type: 'String'},
          ],
          inputArtifactDetails: {minimumCount: 0, maximumCount: 0},
          outputArtifactDetails: {minimumCount: 1, maximumCount: 1},
        });
        assert.deepEqual(src.actionType.id, sourceType);
        assert.deepEqual(src.actionType.outputArtifactDetails, {minimumCount: 1, maximumCount: 1});
        assert.equal(src.actionType.actionConfigurationProperties.length, 3);
        const build = await send(cp.CreateCustomActionTypeCommand, {
          category: 'Build',
          provider: 'LocalBuild',
          version: '1',
          configurationProperties: [
            {name: 'Target', required: true, key: true, secret: false},
            {name: 'Commit', required: false, key: false, secret: false},
            {name: 'FailWhen', required: false, key: false, secret: false},
          ],
          inputArtifactDetails: {minimumCount: 1, maximumCount: 1},
          outputArtifactDetails: {minimumCount: 0, maximumCount: 1},
        });
        assert.deepEqual(build.actionType.id, buildType);
      });

  await check('Creating the same custom action type twice is ValidationException', async () => {
    await rejectsWith(
        send(cp.CreateCustomActionTypeCommand, {
          category: 'Build',
          provider: 'LocalBuild',
          version: '1',
          inputArtifactDetails: {minimumCount: 1, maximumCount: 1},
          outputArtifactDetails: {minimumCount: 0, maximumCount: 1},
        }),
        'ValidationException',
    );
  });

  await check('ListActionTypes with owner Custom lists the two custom types', async () => {
    const out = await send(cp.ListActionTypesCommand, {actionOwnerFilter: 'Custom'});
    assert.deepEqual(
        out.actionTypes.map((t) => t.id.provider).sort(),
        ['LocalBuild', 'LocalGit'],
    );
  });

  await check('PollForJobs for an AWS-owned type is ActionTypeNotFoundException', async () => {
    await rejectsWith(
        send(cp.PollForJobsCommand, {
          actionTypeId: {category: 'Build', owner: 'AWS', provider: 'CodeBuild', version: '1'},
          maxBatchSize: 1,
        }),
        'ActionTypeNotFoundException',
    );
  });

  // The variable Fail has no default, so CreatePipeline does not start an
  // execution: each run below says whether the build worker should fail.
  // The build action reads the source action's output variable CommitId: a
  // custom action's variables are whatever its worker sends, so any key of
  // its namespace may be used. If the server refuses that, the pipeline is
  // created with a literal instead, so that the job-worker checks still run.
  const declaration = (commit) => ({
    name,
    name,
    roleArn: `arn:aws:iam::${account}:role/PipelineRole`,
    artifactStore: {type: 'S3', location: bucket},
    pipelineType: 'V2',
    executionMode: 'QUEUED',
    variables: [{name: 'Fail', description: 'yes: the build worker fails the build'}],
    stages: [
      {
        name: 'Source',
        actions: [
          {
            name: 'Checkout',
            actionTypeId: sourceType,
            configuration: {Repo: 'sdk/app', Branch: 'main', Token: 's3cr3t'},
            outputArtifacts: [{name: 'SourceOut'}],
            namespace: 'SourceVars',
          },
        ],
      },
      {
        name: 'Build',
        actions: [
          {
            name: 'Make',
            actionTypeId: buildType,
            configuration: {
              Target: 'all',
              Commit: commit,
              FailWhen: '#{variables.Fail}',
            },
            inputArtifacts: [{name: 'SourceOut'}],
            outputArtifacts: [{name: 'BuildOut'}],
            namespace: 'BuildVars',
          },
        ],
      },
    ],
  });
  await check(
      'A later action may use any output variable of a custom action\'s namespace', async () => {
        const out =
            await send(cp.CreatePipelineCommand, {pipeline: declaration('#{SourceVars.CommitId}')});
        assert.equal(out.pipeline.version, 1);
        crossVariables = true;
      });
  if (!crossVariables)
    await check('The pipeline is created with a literal Commit instead', async () => {
      await send(cp.CreatePipelineCommand, {pipeline: declaration(literalCommit)});
    });

  await check(
      'A pipeline whose variable has no default is not started by CreatePipeline', async () => {
        const list = await send(cp.ListPipelineExecutionsCommand, {pipelineName: name});
        assert.deepEqual(list.pipelineExecutionSummaries, []);
      });

  const worker = new Worker();
  let runId;
  let firstJob;
  await check(
      'StartPipelineExecution queues a job PollForJobs hands to the source worker', async () => {
        const out = await send(
            cp.StartPipelineExecutionCommand, {name, variables: [{name: 'Fail', value: 'no'}]});
        runId = out.pipelineExecutionId;
        const {jobs} = await until('a source job', async () => {
          const r = await send(cp.PollForJobsCommand, {actionTypeId: sourceType, maxBatchSize: 5});
          return r.jobs.length > 0 ? r : null;
        });
        assert.equal(jobs.length, 1);
        firstJob = jobs[0];
        assert.match(firstJob.nonce, /\S/);
        assert.equal(firstJob.accountId, account);
        const d = firstJob.data;
        assert.deepEqual(d.actionTypeId, sourceType);
        // A secret property is shown to the worker (reference §11.1).
        assert.deepEqual(
            d.actionConfiguration.configuration,
            {Repo: 'sdk/app', Branch: 'main', Token: 's3cr3t'});
        assert.equal(d.pipelineContext.pipelineName, name);
        assert.equal(d.pipelineContext.stage.name, 'Source');
        assert.equal(d.pipelineContext.action.name, 'Checkout');
        assert.equal(
            d.pipelineContext.pipelineArn, `arn:aws:codepipeline:${region}:${account}:${name}`);
        assert.equal(d.pipelineContext.pipelineExecutionId, runId);
        assert.deepEqual(d.inputArtifacts, []);
        assert.equal(d.outputArtifacts.length, 1);
        assert.equal(d.outputArtifacts[0].name, 'SourceOut');
        assert.equal(d.outputArtifacts[0].location.type, 'S3');
        assert.equal(d.outputArtifacts[0].location.s3Location.bucketName, bucket);
        assert.match(
            d.outputArtifacts[0].location.s3Location.objectKey,
            /^sdk-custom\/SourceOut\/[A-Za-z0-9]{7}$/);
        assert.equal(d.continuationToken, undefined);
      });

  await check('A claimed job is not handed out again by PollForJobs', async () => {
    const {jobs} = await send(cp.PollForJobsCommand, {actionTypeId: sourceType, maxBatchSize: 5});
    assert.deepEqual(jobs, []);
  });

  await check('AcknowledgeJob with a wrong nonce is InvalidNonceException', async () => {
    await rejectsWith(
        send(cp.AcknowledgeJobCommand, {jobId: firstJob.id, nonce: 'not-the-nonce'}),
        'InvalidNonceException');
  });

  await check('AcknowledgeJob of an unknown job is JobNotFoundException', async () => {
    await rejectsWith(
        send(cp.AcknowledgeJobCommand, {jobId: '00000000-0000-0000-0000-000000000000', nonce: '1'}),
        'JobNotFoundException',
    );
  });

  await check('PutJobSuccessResult on an unknown job is JobNotFoundException', async () => {
    await rejectsWith(
        send(cp.PutJobSuccessResultCommand, {jobId: '00000000-0000-0000-0000-000000000000'}),
        'JobNotFoundException',
    );
  });

  await check(
      'PutJobSuccessResult with both outputVariables and a continuationToken is ValidationException',
      async () => {
        await rejectsWith(
            send(cp.PutJobSuccessResultCommand, {
              jobId: firstJob.id,
              continuationToken: 't',
              outputVariables: {A: '1'},
            }),
            'ValidationException',
        );
      });

  await check(
      'PutJobSuccessResult on a job that was not acknowledged is InvalidJobStateException',
      async () => {
        await rejectsWith(
            send(cp.PutJobSuccessResultCommand, {jobId: firstJob.id}), 'InvalidJobStateException');
      });

  await check(
      'A source job answered with a continuationToken keeps the action InProgress', async () => {
        await worker.handle('source', firstJob);
        assert.deepEqual(worker.errors, []);
        const state = await send(cp.GetPipelineStateCommand, {name});
        const a = actionState(stageState(state, 'Source'), 'Checkout').latestExecution;
        assert.equal(a.status, 'InProgress');
        assert.equal(a.summary, 'cloning');
        assert.equal(a.externalExecutionId, 'clone-1');
      });

  await check(
      'A repeated PutJobSuccessResult (a retry after a lost answer) is accepted and changes nothing',
      async () => {
        // Stageline's choice (docs/api.md does not say; AWS's answer is not known):
        // the same result again is a no-op, so no second continued job is queued
        // (the worker checks below see exactly one).
        const out = await send(cp.PutJobSuccessResultCommand, {
          jobId: firstJob.id,
          continuationToken: 'clone:sdk/app',
        });
        assert.equal(out.$metadata.httpStatusCode, 200);
      });

  await check(
      'PutJobFailureResult on a job that already succeeded is InvalidJobStateException',
      async () => {
        await rejectsWith(
            send(cp.PutJobFailureResultCommand, {
              jobId: firstJob.id,
              failureDetails: {type: 'JobFailed', message: 'too late'},
            }),
            'InvalidJobStateException',
        );
      });

  await check(
      'A secret configuration property is masked in GetPipeline and ListActionExecutions',
      async () => {
        const {pipeline} = await send(cp.GetPipelineCommand, {name});
        assert.equal(pipeline.stages[0].actions[0].configuration.Token, '****');
        const out = await send(
            cp.ListActionExecutionsCommand,
            {pipelineName: name, filter: {pipelineExecutionId: runId}});
        const checkout = out.actionExecutionDetails.find((d) => d.actionName === 'Checkout');
        assert.equal(checkout.input.configuration.Token, '****');
        assert.equal(
            checkout.input.resolvedConfiguration.Token, '****',
            'the secret is masked in resolvedConfiguration too');
      });

  await check('AcknowledgeJob of a finished job reports its status', async () => {
    const out = await send(cp.AcknowledgeJobCommand, {jobId: firstJob.id, nonce: firstJob.nonce});
    assert.equal(out.status, 'Succeeded');
  });

  await check(
      'The worker runs the continued source job and the build job until the execution succeeds',
      async () => {
        await worker.runUntil('the execution to succeed', async () => {
          const {pipelineExecution} = await send(cp.GetPipelineExecutionCommand, {
            pipelineName: name,
            pipelineExecutionId: runId,
          });
          if (terminal.has(pipelineExecution.status) && pipelineExecution.status !== 'Succeeded')
            assert.fail(`the execution ended ${pipelineExecution.status}: ${
                pipelineExecution.statusSummary ?? ''}`);
          return pipelineExecution.status === 'Succeeded';
        });
        assert.deepEqual(worker.errors, []);
        assert.deepEqual(
            worker.seen.map((s) => s.kind),
            ['source', 'source', 'build'],
        );
      });

  await check(
      'The continued source job carries the continuationToken and the same output key',
      async () => {
        const [first, continued] = worker.seen;
        assert.notEqual(continued.job.id, first.job.id);
        assert.equal(continued.details.data.continuationToken, 'clone:sdk/app');
        assert.equal(continued.job.data.continuationToken, 'clone:sdk/app');
        assert.equal(continued.details.id, continued.job.id);
        assert.equal(continued.details.accountId, account);
        assert.deepEqual(continued.details.data.outputArtifacts, first.job.data.outputArtifacts);
        assert.equal(
            continued.details.data.pipelineContext.action.actionExecutionId,
            first.job.data.pipelineContext.action.actionExecutionId,
        );
      });

  await check(
      'The build job gets the source\'s output variables in its configuration and its artifact as input',
      async () => {
        const source = worker.seen[1].details.data;
        const build = worker.seen[2].details.data;
        assert.deepEqual(build.actionTypeId, buildType);
        assert.deepEqual(build.actionConfiguration.configuration, {
          Target: 'all',
          Commit: crossVariables ? worker.commit : literalCommit,
          FailWhen: 'no',
        });
        assert.equal(build.inputArtifacts.length, 1);
        assert.equal(build.inputArtifacts[0].name, 'SourceOut');
        assert.deepEqual(build.inputArtifacts[0].location, source.outputArtifacts[0].location);
        assert.equal(build.outputArtifacts[0].name, 'BuildOut');
        assert.match(
            build.outputArtifacts[0].location.s3Location.objectKey,
            /^sdk-custom\/BuildOut\/[A-Za-z0-9]{7}$/);
      });

  await check(
      'ListActionExecutions shows the output variables and execution details the workers sent',
      async () => {
        const out = await send(cp.ListActionExecutionsCommand, {
          pipelineName: name,
          filter: {pipelineExecutionId: runId},
        });
        const byName = Object.fromEntries(out.actionExecutionDetails.map((d) => [d.actionName, d]));
        assert.deepEqual(Object.keys(byName).sort(), ['Checkout', 'Make']);
        const checkout = byName.Checkout;
        assert.equal(checkout.status, 'Succeeded');
        assert.deepEqual(
            checkout.output.outputVariables, {CommitId: worker.commit, BranchName: 'main'});
        assert.equal(checkout.output.executionResult.externalExecutionId, 'clone-1');
        assert.equal(
            checkout.output.executionResult.externalExecutionSummary, 'cloned sdk/app@main');
        assert.equal(checkout.input.namespace, 'SourceVars');
        assert.deepEqual(checkout.output.outputArtifacts.map((a) => a.name), ['SourceOut']);
        const make = byName.Make;
        assert.equal(make.status, 'Succeeded');
        const commit = crossVariables ? worker.commit : literalCommit;
        assert.deepEqual(make.output.outputVariables, {ImageTag: `app:${commit.slice(0, 7)}`});
        assert.equal(make.input.resolvedConfiguration.Commit, commit);
        assert.equal(
            make.input.configuration.Commit,
            crossVariables ? '#{SourceVars.CommitId}' : literalCommit);
      });

  await check('GetPipelineState shows both custom actions Succeeded', async () => {
    const state = await send(cp.GetPipelineStateCommand, {name});
    for (const [stage, action] of [['Source', 'Checkout'], ['Build', 'Make'], ]) {
      const s = stageState(state, stage);
      assert.equal(s.latestExecution.pipelineExecutionId, runId);
      assert.equal(s.latestExecution.status, 'Succeeded');
      assert.equal(actionState(s, action).latestExecution.status, 'Succeeded');
    }
  });

  let failedRunId;
  const failureMessage = 'make all: 3 tests failed';
  await check(
      'A build worker\'s PutJobFailureResult fails the action with its message in GetPipelineState',
      async () => {
        const out = await send(
            cp.StartPipelineExecutionCommand, {name, variables: [{name: 'Fail', value: 'yes'}]});
        failedRunId = out.pipelineExecutionId;
        const seenBefore = worker.seen.length;
        await worker.runUntil('the second execution to fail', async () => {
          const {pipelineExecution} = await send(cp.GetPipelineExecutionCommand, {
            pipelineName: name,
            pipelineExecutionId: failedRunId,
          });
          return pipelineExecution.status === 'Failed';
        });
        assert.deepEqual(
            worker.seen.slice(seenBefore).map((s) => s.kind),
            ['source', 'source', 'build'],
        );
        const state = await send(cp.GetPipelineStateCommand, {name});
        const build = stageState(state, 'Build');
        assert.equal(build.latestExecution.pipelineExecutionId, failedRunId);
        assert.equal(build.latestExecution.status, 'Failed');
        const make = actionState(build, 'Make').latestExecution;
        assert.equal(make.status, 'Failed');
        assert.equal(make.errorDetails.code, 'JobFailed');
        assert.equal(make.errorDetails.message, failureMessage);
        assert.equal(make.externalExecutionId, 'build-2');
      });

  await check(
      'ListActionExecutions shows the failed build with the worker\'s message', async () => {
        const out = await send(cp.ListActionExecutionsCommand, {
          pipelineName: name,
          filter: {pipelineExecutionId: failedRunId},
        });
        const make = out.actionExecutionDetails.find((d) => d.actionName === 'Make');
        assert.equal(make.status, 'Failed');
        assert.equal(make.output.executionResult.errorDetails?.message, failureMessage);
        assert.equal(make.input.resolvedConfiguration.FailWhen, 'yes');
      });

  await check(
      'StopPipelineExecution with abandon stops an execution whose source job waits for a worker',
      async () => {
        const {pipelineExecutionId} = await send(
            cp.StartPipelineExecutionCommand, {name, variables: [{name: 'Fail', value: 'no'}]});
        await until('the source action to be InProgress', async () => {
          const state = await send(cp.GetPipelineStateCommand, {name});
          const a = actionState(stageState(state, 'Source'), 'Checkout').latestExecution;
          return stageState(state, 'Source').latestExecution?.pipelineExecutionId ===
              pipelineExecutionId &&
              a?.status === 'InProgress';
        });
        await send(cp.StopPipelineExecutionCommand, {
          pipelineName: name,
          pipelineExecutionId,
          abandon: true,
          reason: 'sdk e2e stop',
        });
        const e = await waitForExecutionEnd(name, pipelineExecutionId);
        assert.equal(e.status, 'Stopped');
        const list = await send(cp.ListPipelineExecutionsCommand, {pipelineName: name});
        const summary = list.pipelineExecutionSummaries.find(
            (x) => x.pipelineExecutionId === pipelineExecutionId);
        assert.equal(summary.status, 'Stopped');
        assert.equal(summary.stopTrigger?.reason, 'sdk e2e stop');
        await rejectsWith(
            send(
                cp.StopPipelineExecutionCommand,
                {pipelineName: name, pipelineExecutionId, abandon: true}),
            'PipelineExecutionNotStoppableException');
        const state = await send(cp.GetPipelineStateCommand, {name});
        const a = actionState(stageState(state, 'Source'), 'Checkout').latestExecution;
        assert.equal(a.status, 'Abandoned');
        const {jobs} =
            await send(cp.PollForJobsCommand, {actionTypeId: sourceType, maxBatchSize: 5});
        assert.deepEqual(jobs, [], 'the abandoned action\'s job is not handed to a worker');
      });

  await check(
      'DeleteCustomActionType removes a type, and PollForJobs for it is then ActionTypeNotFoundException',
      async () => {
        const type = {category: 'Test', provider: 'LocalTest', version: '1'};
        await send(cp.CreateCustomActionTypeCommand, {
          ...type,
          inputArtifactDetails: {minimumCount: 0, maximumCount: 1},
          outputArtifactDetails: {minimumCount: 0, maximumCount: 0},
        });
        await send(cp.DeleteCustomActionTypeCommand, type);
        await rejectsWith(
            send(
                cp.PollForJobsCommand, {actionTypeId: {...type, owner: 'Custom'}, maxBatchSize: 1}),
            'ActionTypeNotFoundException',
        );
        const out = await send(cp.ListActionTypesCommand, {actionOwnerFilter: 'Custom'});
        assert.deepEqual(
            out.actionTypes.map((t) => t.id.provider).sort(), ['LocalBuild', 'LocalGit']);
      });

  // Left for the run after the restart (tests/e2e/sdk_js.sh restarts the
  // server between the two): an execution whose source job waits for a worker.
  await check('Before a restart: an execution waits for its source job', async () => {
    const {pipelineExecutionId} = await send(
        cp.StartPipelineExecutionCommand, {name, variables: [{name: 'Fail', value: 'no'}]});
    await until('the source action to be InProgress', async () => {
      const {actionExecutionDetails} = await send(
          cp.ListActionExecutionsCommand, {pipelineName: name, filter: {pipelineExecutionId}});
      return actionExecutionDetails.some(
          (d) => d.actionName === 'Checkout' && d.status === 'InProgress');
    });
  });
}

// ============================================================================
// 4. After a restart of the server (the second run of this script).
// ============================================================================
async function afterRestart() {
  const name = 'sdk-custom';

  await check(
      'Custom action types survive a restart, and a deleted one stays deleted', async () => {
        const out = await send(cp.ListActionTypesCommand, {actionOwnerFilter: 'Custom'});
        assert.deepEqual(
            out.actionTypes.map((t) => t.id.provider).sort(), ['LocalBuild', 'LocalGit']);
        const git = out.actionTypes.find((t) => t.id.provider === 'LocalGit');
        assert.deepEqual(git.outputArtifactDetails, {minimumCount: 1, maximumCount: 1});
        assert.deepEqual(
            git.actionConfigurationProperties.map((p) => [p.name, p.secret]),
            [['Repo', false], ['Branch', false], ['Token', true]]);
      });

  await check(
      'An execution that waited for a worker before the restart succeeds when a worker comes',
      async () => {
        const list = await send(cp.ListPipelineExecutionsCommand, {pipelineName: name});
        const waiting = list.pipelineExecutionSummaries[0];
        assert.equal(waiting.status, 'InProgress');
        const worker = new Worker();
        await worker.runUntil('the execution to succeed after the restart', async () => {
          const {pipelineExecution} = await send(
              cp.GetPipelineExecutionCommand,
              {pipelineName: name, pipelineExecutionId: waiting.pipelineExecutionId});
          if (terminal.has(pipelineExecution.status) && pipelineExecution.status !== 'Succeeded')
            assert.fail(`the execution ended ${pipelineExecution.status}`);
          return pipelineExecution.status === 'Succeeded';
        });
        assert.deepEqual(worker.errors, []);
        assert.deepEqual(worker.seen.map((x) => x.kind), ['source', 'source', 'build']);
        assert.equal(
            worker.seen[0].job.data.pipelineContext.pipelineExecutionId,
            waiting.pipelineExecutionId);
      });

  await check('DeletePipeline and DeleteCustomActionType clean up after the restart', async () => {
    await send(cp.DeletePipelineCommand, {name});
    await send(
        cp.DeleteCustomActionTypeCommand, {category: 'Source', provider: 'LocalGit', version: '1'});
    await send(
        cp.DeleteCustomActionTypeCommand,
        {category: 'Build', provider: 'LocalBuild', version: '1'});
    const out = await send(cp.ListActionTypesCommand, {actionOwnerFilter: 'Custom'});
    assert.deepEqual(out.actionTypes, []);
  });
}

// ============================================================================
// 4. A partner's job worker for registered third-party action types
//    (PollForThirdPartyJobs, GetThirdPartyJobDetails with the clientId,
//    AcknowledgeThirdPartyJob, PutThirdPartyJobSuccessResult). sdk_js.sh
//    registers the types (Source/PartnerRepo and Test/PartnerScan, owner
//    ThirdParty) with `stageline action-types register` first.
// ============================================================================
async function thirdPartyActions() {
  const name = 'sdk-partner';
  const repoType = {category: 'Source', owner: 'ThirdParty', provider: 'PartnerRepo', version: '1'};
  const scanType = {category: 'Test', owner: 'ThirdParty', provider: 'PartnerScan', version: '1'};
  await check('GetActionType describes a registered third-party type', async () => {
    const {actionType} = await send(cp.GetActionTypeCommand, scanType);
    assert.equal(actionType.executor.type, 'JobWorker');
    assert.equal(actionType.properties[0].name, 'Project');
  });
  await check('CreatePipeline accepts a pipeline of registered third-party types', async () => {
    await send(cp.CreatePipelineCommand, {
      pipeline: {
        name,
        roleArn: `arn:aws:iam::${account}:role/R`,
        artifactStore: {type: 'S3', location: 'sdk-artifacts'},
        stages: [
          {
            name: 'Source',
            actions: [{
              name: 'Repo', actionTypeId: repoType, configuration: {Project: 'demo'},
              outputArtifacts: [{name: 'Code'}],
            }],
          },
          {
            name: 'Test',
            actions: [{
              name: 'Scan', actionTypeId: scanType, configuration: {Project: 'demo'},
              inputArtifacts: [{name: 'Code'}],
            }],
          },
        ],
      },
    });
  });
  // The worker: claim a job, read it with the clientId, acknowledge, succeed.
  async function runOne(actionTypeId, summary) {
    const job = await until(`a ${actionTypeId.provider} job`, async () => {
      const {jobs} = await send(cp.PollForThirdPartyJobsCommand, {actionTypeId, maxBatchSize: 1});
      return jobs[0];
    });
    assert.match(job.clientId, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    await rejectsWith(
        send(cp.GetThirdPartyJobDetailsCommand,
             {jobId: job.jobId, clientToken: '00000000-0000-4000-8000-000000000000'}),
        'InvalidClientTokenException');
    const {jobDetails} = await send(cp.GetThirdPartyJobDetailsCommand,
                                    {jobId: job.jobId, clientToken: job.clientId});
    assert.equal(jobDetails.data.pipelineContext.pipelineName, name);
    assert.equal(jobDetails.data.pipelineContext.pipelineArn, undefined);
    assert.equal(jobDetails.data.actionConfiguration.configuration.Project, 'demo');
    const {status} = await send(cp.AcknowledgeThirdPartyJobCommand,
                                {jobId: job.jobId, nonce: jobDetails.nonce, clientToken: job.clientId});
    assert.equal(status, 'InProgress');
    await send(cp.PutThirdPartyJobSuccessResultCommand, {
      jobId: job.jobId,
      clientToken: job.clientId,
      executionDetails: {summary, externalExecutionId: `${actionTypeId.provider}-1`},
    });
    return jobDetails;
  }
  await check('A third-party worker runs both actions and the execution succeeds', async () => {
    await runOne(repoType, 'fetched');
    const scan = await runOne(scanType, 'no findings');
    assert.equal(scan.data.inputArtifacts[0].name, 'Code');
    const {pipelineExecutionSummaries} =
        await send(cp.ListPipelineExecutionsCommand, {pipelineName: name});
    const done = await waitForExecutionEnd(name, pipelineExecutionSummaries[0].pipelineExecutionId);
    assert.equal(done.status, 'Succeeded');
    const state = await send(cp.GetPipelineStateCommand, {name});
    assert.equal(
        actionState(stageState(state, 'Test'), 'Scan').latestExecution.summary, 'no findings');
  });
}

// Usage: node test.mjs [before-restart|after-restart]
const phase = process.argv[2] ?? 'before-restart';
const started = Date.now();
if (phase === 'before-restart') {
  await pipelineApi();
  await authentication();
  await customActions();
  await thirdPartyActions();
} else if (phase === 'after-restart') {
  await afterRestart();
} else {
  console.error(`unknown phase '${phase}': before-restart or after-restart`);
  process.exit(2);
}
console.log(`sdk e2e (JS, ${phase}): ${passed} passed, ${failed} failed (${
    ((Date.now() - started) / 1000).toFixed(1)} s)`);
// The runner adds these to its summary.
if (process.env.STAGELINE_RESULTS)
  appendFileSync(process.env.STAGELINE_RESULTS, `${passed} ${failed}\n`);
process.exit(failed === 0 ? 0 : 1);
