// Browser tests of the Stageline web console: Debian's chromium driven by
// playwright-core against a real `stageline server`, which
// tests/e2e/console.sh starts and fills (pipelines `seed` and `flaky`, see
// there). The runner sets:
//   STAGELINE_CONSOLE      http://127.0.0.1:PORT/console/
//   STAGELINE_ENDPOINT     http://127.0.0.1:PORT (for the aws CLI checks)
//   STAGELINE_CREDENTIALS  the server's credentials file (profile default: the admin key)
//   STAGELINE_MARKER       the file whose absence fails flaky's Test stage
//   STAGELINE_GATE         a folder: while it holds `hold`, seed's build waits for `release`
//   SCREENSHOT_DIR         where the screenshots go
//   STAGELINE_RESULTS      optional: a file this writes "<passed> <failed>" to
// Prints one line per failed check and a count; exits 1 if any check failed.
import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import {existsSync, readFileSync, unlinkSync, writeFileSync} from 'node:fs';
import http from 'node:http';
import {join} from 'node:path';
import {chromium} from 'playwright-core';

const base = process.env.STAGELINE_CONSOLE;
const endpoint = process.env.STAGELINE_ENDPOINT;
const credentialsFile = process.env.STAGELINE_CREDENTIALS;
const marker = process.env.STAGELINE_MARKER;
const gate = process.env.STAGELINE_GATE;
const shots = process.env.SCREENSHOT_DIR;
if (!base || !endpoint || !credentialsFile || !marker || !gate || !shots) {
  console.error(
      'set STAGELINE_CONSOLE, STAGELINE_ENDPOINT, STAGELINE_CREDENTIALS, STAGELINE_MARKER, STAGELINE_GATE and SCREENSHOT_DIR (see tests/e2e/console.sh)');
  process.exit(2);
}
// Generous: the suite also runs against the sanitizer build.
const WAIT = 60000;

// The admin key from the server's credentials file ([default] profile).
function adminKey() {
  const text = readFileSync(credentialsFile, 'utf8');
  const section = text.split(/^\[/m).find((s) => s.startsWith('default]')) ?? text;
  const value = (k) => section.match(new RegExp(`^\\s*${k}\\s*=\\s*(\\S+)`, 'm'))?.[1];
  const id = value('aws_access_key_id');
  const secret = value('aws_secret_access_key');
  if (!id || !secret) throw new Error(`no default key in ${credentialsFile}`);
  return {id, secret};
}
const key = adminKey();

function aws(...args) {
  const out = execFileSync(
      'aws', [...args, '--endpoint-url', endpoint, '--region', 'us-east-1', '--output', 'json'],
      {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']});
  return out.trim() ? JSON.parse(out) : {};
}
const stageState = (pipeline, stage) =>
    aws('codepipeline', 'get-pipeline-state', '--name', pipeline)
        .stageStates.find((s) => s.stageName === stage);

// ---- A tiny harness: each check is a sentence; a failed one does not stop the rest.
let passed = 0;
let failed = 0;
let page;  // the current page, for the screenshot of a failure
async function check(name, fn) {
  try {
    await fn();
    passed++;
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}`);
    const text = e instanceof assert.AssertionError ? e.message : `${e.name}: ${e.message}`;
    for (const line of text.split('\n').slice(0, 20)) console.log(`    ${line}`);
    if (page && !page.isClosed()) {
      const file = join(shots, `failed-check-${failed}.png`);
      await page.screenshot({path: file, fullPage: true}).catch(() => {});
      const alerts = await page.locator('[role=alert]').allInnerTexts().catch(() => []);
      for (const a of alerts.filter((t) => t.trim())) console.log(`    page alert: ${a.trim()}`);
      console.log(`    screenshot: ${file}; page: ${page.url()}`);
    }
  }
}
async function shot(p, name) {
  await p.screenshot({path: join(shots, `${name}.png`)});
}

// A stage box and an action card on the workflow, by their accessible names.
const stage = (p, name) => p.getByRole('region', {name: `Stage ${name}`});
const stageStatus = (p, name, status) =>
    stage(p, name).locator(`.stage-status[data-status="${status}"]`);
const actionStatus = (p, stageName, action, status) =>
    stage(p, stageName)
        .getByRole('article', {name: `Action ${action}`})
        .locator(`.action-status[data-status="${status}"]`);

async function signIn(p, secret) {
  await p.getByLabel('Access key ID').fill(key.id);
  await p.getByLabel('Secret access key').fill(secret);
  await p.getByRole('button', {name: 'Sign in'}).click();
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'
  ],
});
const pageErrors = [];
try {
  const context = await browser.newContext({viewport: {width: 1280, height: 800}});
  context.on('page', (p) => p.on('pageerror', (e) => pageErrors.push(`${p.url()}: ${e.message}`)));
  page = await context.newPage();

  // 1. A wrong secret cannot sign in.
  await check('the console root shows the sign-in form', async () => {
    await page.goto(base);
    await page.getByRole('heading', {name: 'Sign in to Stageline'}).waitFor({timeout: WAIT});
  });
  await check(
      'a wrong secret cannot sign in: an error is shown and no session cookie is set', async () => {
        await signIn(page, 'not-the-secret');
        const alert = page.getByRole('alert').filter({hasText: 'Sign-in failed'});
        await alert.waitFor({timeout: WAIT});
        const cookies = await context.cookies();
        assert.equal(
            cookies.filter((c) => c.name === 'stageline_session').length, 0,
            JSON.stringify(cookies));
        assert.ok(await page.getByRole('heading', {name: 'Sign in to Stageline'}).isVisible());
      });

  // 2. The admin key signs in; the cookie is HttpOnly and SameSite=Strict.
  await check('the server\'s admin key signs in and the pipelines are listed', async () => {
    await signIn(page, key.secret);
    await page.getByRole('heading', {name: 'Pipelines', exact: true}).waitFor({timeout: WAIT});
    await page.getByRole('link', {name: 'seed', exact: true}).waitFor({timeout: WAIT});
    await page.getByRole('link', {name: 'flaky', exact: true}).waitFor({timeout: WAIT});
    const cookie = (await context.cookies()).find((c) => c.name === 'stageline_session');
    assert.ok(cookie, 'a stageline_session cookie');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
  });
  await check('the list shows each pipeline\'s latest status and source revision', async () => {
    const row = page.getByRole('row').filter({hasText: 'seed'});
    await row.getByText('Failed').waitFor({timeout: WAIT});
    await row.getByText('Shop 1.4: the spring sale').waitFor({timeout: WAIT});
    await shot(page, 'pipelines');
  });

  await check('the name filter narrows the list, and clearing it shows every pipeline', async () => {
    const filter = page.getByLabel('Filter pipelines');
    await filter.fill('FLA');
    await page.getByText('1 of 3 pipelines match').waitFor({timeout: WAIT});
    assert.deepEqual(
        await page.locator('table.pipelines tbody th').allInnerTexts(), ['flaky']);
    await filter.fill('');
    await page.locator('table.pipelines tbody tr').nth(2).waitFor({timeout: WAIT});
    assert.equal(await page.locator('table.pipelines tbody tr').count(), 3);
  });

  await check('an execution started elsewhere shows in its row of the list, without a reload', async () => {
    await page.evaluate(() => { window.__listMarker = 'same list'; });
    const id = aws('codepipeline', 'start-pipeline-execution', '--name', 'flaky').pipelineExecutionId;
    const row = page.getByRole('row').filter({has: page.getByRole('rowheader', {name: 'flaky'})});
    await row.locator(`a[href*="${id}"]`).waitFor({timeout: WAIT});
    assert.equal(await page.evaluate(() => window.__listMarker), 'same list');
    await row.getByText('Failed').waitFor({timeout: WAIT});
  });

  // 3. The seed-shaped pipeline: start it from its page and watch it live.
  let execId = '';
  await check(
      'starting seed from its page runs Build live, InProgress then Succeeded, with no reload, and its log is followed',
      async () => {
        await page.getByRole('link', {name: 'seed', exact: true}).click();
        await page.getByRole('heading', {name: 'seed', exact: true}).waitFor({timeout: WAIT});
        await stageStatus(page, 'Approval', 'Failed').waitFor({timeout: WAIT});
        await page.evaluate(() => {
          window.__stagelineMarker = 'still the same document';
        });
        let loads = 0;
        page.on('load', () => loads++);
        writeFileSync(join(gate, 'hold'), '');  // the build waits for `release`
        await page.getByRole('button', {name: 'Start execution'}).click();
        const dialog = page.getByRole('dialog');
        const variable = dialog.getByLabel('Environment');
        assert.equal(
            await variable.inputValue(), 'staging', 'the variable is prefilled with its default');
        await variable.fill('production');
        await dialog.getByRole('button', {name: 'Start', exact: true}).click();
        await stageStatus(page, 'Build', 'InProgress').waitFor({timeout: WAIT});
        await shot(page, 'pipeline-running');
        // While it runs, the action's page follows its log.
        const href = await stage(page, 'Build')
                         .getByRole('link', {name: 'Details of action Build'})
                         .getAttribute('href');
        const tail = await context.newPage();
        await tail.goto(base + href);
        await tail.getByText('Following the log as it is written').waitFor({timeout: WAIT});
        await tail.getByRole('log').getByText('building the shop 1.4').waitFor({timeout: WAIT});
        writeFileSync(join(gate, 'release'), '');
        await tail.getByRole('log').getByText('built the shop 1.4').waitFor({timeout: WAIT});
        await tail.getByText('The action ended: Succeeded').waitFor({timeout: WAIT});
        await tail.close();
        unlinkSync(join(gate, 'hold'));
        await stageStatus(page, 'Build', 'Succeeded').waitFor({timeout: WAIT});
        assert.equal(
            await page.evaluate(() => window.__stagelineMarker), 'still the same document');
        assert.equal(loads, 0, 'the page was not reloaded');
        const latest = aws('codepipeline', 'list-pipeline-executions', '--pipeline-name', 'seed',
                           '--max-results', '1')
                           .pipelineExecutionSummaries[0];
        execId = latest.pipelineExecutionId;
        assert.equal(latest.trigger.triggerType, 'StartPipelineExecution');
      });
  await check('the approval waits with its resolved CustomData, link and buttons', async () => {
    await actionStatus(page, 'Approval', 'ManualApproval', 'Waiting').waitFor({timeout: WAIT});
    const approval = page.getByRole('group', {name: 'Approval ManualApproval'});
    await approval.getByText('Release 1.4 to production?').waitFor({timeout: WAIT});
    await approval.getByRole('link', {name: 'https://example.com/release-notes'}).waitFor();
    await approval.getByRole('button', {name: 'Approve'}).waitFor();
    // The confirmations fade by themselves; dismissing them is quicker.
    for (const b of await page.getByRole('button', {name: 'Dismiss message'}).all())
      await b.click();
    await shot(page, 'pipeline-approval');
  });
  await check('approving with a summary deploys, and the page names the approver', async () => {
    const approval = page.getByRole('group', {name: 'Approval ManualApproval'});
    await approval.getByLabel('Summary').fill('Ship it for the sale');
    await approval.getByRole('button', {name: 'Approve'}).click();
    await stageStatus(page, 'Deploy', 'Succeeded').waitFor({timeout: WAIT});
    const card = stage(page, 'Approval');
    await card.getByText('Approved by').waitFor({timeout: WAIT});
    await card.getByText('user/admin').waitFor({timeout: WAIT});
    await card.getByText('Ship it for the sale').waitFor({timeout: WAIT});
    assert.equal(await page.evaluate(() => window.__stagelineMarker), 'still the same document');
    const s = stageState('seed', 'Approval').actionStates[0].latestExecution;
    assert.equal(s.summary, 'Ship it for the sale');
    assert.match(s.lastUpdatedBy, /user\/admin$/);
    await shot(page, 'pipeline-succeeded');
  });
  await check('parallel deploy actions sit side by side, and the deploy shows its targets\' lifecycle events', async () => {
    const publish = await stage(page, 'Deploy').getByRole('article', {name: 'Action Publish'}).boundingBox();
    const ship = await stage(page, 'Deploy').getByRole('article', {name: 'Action Ship'}).boundingBox();
    assert.ok(Math.abs(publish.y - ship.y) < 2 && ship.x > publish.x, 'Ship beside Publish (runOrder 1 both)');
    await stage(page, 'Deploy').getByRole('link', {name: 'Details of action Ship'}).click();
    const targets = page.getByRole('region', {name: 'Deploy targets'});
    await targets.getByRole('heading', {name: /web-1/}).waitFor({timeout: WAIT});
    const validate = targets.getByRole('row').filter({hasText: 'ValidateService'});
    await validate.locator('.badge[data-status="Succeeded"]').waitFor({timeout: WAIT});
    await shot(page, 'action-deploy');
    await page.goBack();
    await stage(page, 'Build').getByRole('link', {name: 'Details of action Build'}).click();
    const phases = page.getByRole('region', {name: 'Build phases'});
    await phases.getByRole('row').filter({hasText: 'BUILD'}).first()
        .locator('.badge[data-status="Succeeded"]').waitFor({timeout: WAIT});
    await page.goto(`${base}#/pipelines/seed`);
    await stageStatus(page, 'Deploy', 'Succeeded').waitFor({timeout: WAIT});
  });
  await check('the pipeline page is readable at phone width (stages top to bottom)', async () => {
    const phone = await context.newPage();
    await phone.setViewportSize({width: 390, height: 844});
    await phone.goto(`${base}#/pipelines/seed`);
    await stageStatus(phone, 'Deploy', 'Succeeded').waitFor({timeout: WAIT});
    const a = await stage(phone, 'Source').boundingBox();
    const b = await stage(phone, 'Build').boundingBox();
    assert.ok(b.y > a.y + a.height - 1, 'Build is below Source');
    assert.ok(a.width <= 390, `a stage fits the screen (${a.width}px)`);
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(overflow <= 390, `no horizontal scrolling (${overflow}px)`);
    await shot(phone, 'pipeline-phone');
    await phone.close();
  });

  // 4. A transition, disabled with a reason, then enabled.
  await check('disabling the transition into Deploy with a reason really disables it', async () => {
    await page.getByRole('button', {name: 'Disable transition into Deploy'}).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Reason').fill('Freeze for the audit');
    await dialog.getByLabel('Reason').press('Enter');
    await page.getByText('Freeze for the audit').waitFor({timeout: WAIT});
    const t = stageState('seed', 'Deploy').inboundTransitionState;
    assert.equal(t.enabled, false);
    assert.equal(t.disabledReason, 'Freeze for the audit');
  });
  await check('enabling it again from the page enables it', async () => {
    await page.getByRole('button', {name: 'Enable transition into Deploy'}).click();
    await page.getByRole('button', {name: 'Disable transition into Deploy'}).waitFor({
      timeout: WAIT
    });
    assert.equal(stageState('seed', 'Deploy').inboundTransitionState.enabled, true);
  });
  await check(
      'the keyboard reaches Start execution, Enter opens its dialog, Escape gives focus back',
      async () => {
        await page.locator('body').focus();
        await page.evaluate(() => document.activeElement?.blur());
        let reached = false;
        for (let i = 0; i < 40 && !reached; i++) {
          await page.keyboard.press('Tab');
          reached = await page.evaluate(
              () => document.activeElement?.tagName === 'BUTTON' &&
                  document.activeElement.textContent.includes('Start execution'));
        }
        assert.ok(reached, 'Tab reaches the Start execution button');
        await page.keyboard.press('Enter');
        await page.getByRole('dialog').waitFor();
        assert.equal(
            await page.evaluate(() => document.activeElement?.closest('dialog') != null), true,
            'focus is in the dialog');
        await page.keyboard.press('Escape');
        await page.getByRole('dialog').waitFor({state: 'detached'});
        assert.ok(
            await page.evaluate(
                () => document.activeElement?.tagName === 'BUTTON' &&
                    document.activeElement.textContent.includes('Start execution')),
            'focus is back on the button');
      });
  await check('an error from the API is shown in the dialog, which stays open', async () => {
    await page.getByRole('button', {name: 'Start execution'}).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Environment').fill('x'.repeat(1001));
    await dialog.getByRole('button', {name: 'Start', exact: true}).click();
    await dialog.getByRole('alert').filter({hasText: 'StartPipelineExecution'}).waitFor({
      timeout: WAIT
    });
    await page.keyboard.press('Escape');
    await dialog.waitFor({state: 'detached'});
    const latest = aws('codepipeline', 'list-pipeline-executions', '--pipeline-name', 'seed',
                       '--max-results', '1')
                       .pipelineExecutionSummaries[0];
    assert.equal(latest.pipelineExecutionId, execId, 'no execution was started');
  });
  await check('Escape closes a dialog without doing anything', async () => {
    await page.getByRole('button', {name: 'Disable transition into Build'}).click();
    await page.getByRole('dialog').waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({state: 'detached'});
    assert.equal(stageState('seed', 'Build').inboundTransitionState.enabled, true);
  });

  // Stop, reject and roll back, from the page.
  const latestOf = (pipeline) =>
      aws('codepipeline', 'list-pipeline-executions', '--pipeline-name', pipeline,
          '--max-results', '1').pipelineExecutionSummaries[0];
  async function until(what, predicate) {
    for (const end = Date.now() + WAIT; Date.now() < end;) {
      if (predicate()) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`timed out waiting until ${what}`);
  }
  const startFromPage = async () => {
    const before = latestOf('seed').pipelineExecutionId;
    await page.getByRole('button', {name: 'Start execution'}).click();
    await page.getByRole('dialog').getByRole('button', {name: 'Start', exact: true}).click();
    await page.getByRole('dialog').waitFor({state: 'detached'});
    await until('a new execution starts', () => latestOf('seed').pipelineExecutionId !== before);
    return latestOf('seed').pipelineExecutionId;
  };
  await check('Stop execution with abandon stops a running execution', async () => {
    if (existsSync(join(gate, 'release'))) unlinkSync(join(gate, 'release'));
    writeFileSync(join(gate, 'hold'), '');  // the build waits
    const id = await startFromPage();
    await stageStatus(page, 'Build', 'InProgress').waitFor({timeout: WAIT});
    await page.getByRole('button', {name: 'Stop execution'}).first().click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Reason').fill('Wrong branch');
    await dialog.getByLabel('Stop and abandon: running actions are abandoned').check();
    await dialog.getByRole('button', {name: 'Stop execution'}).click();
    await until('the execution is Stopped', () => latestOf('seed').status === 'Stopped');
    await page.locator('.pipeline-head .badge[data-status="Stopped"]').waitFor({timeout: WAIT});
    const e = aws('codepipeline', 'get-pipeline-execution', '--pipeline-name', 'seed',
                  '--pipeline-execution-id', id).pipelineExecution;
    assert.equal(e.status, 'Stopped');
    assert.match(e.statusSummary ?? '', /Wrong branch/);
    unlinkSync(join(gate, 'hold'));
    writeFileSync(join(gate, 'release'), '');
  });
  await check('rejecting with a summary fails the approval and names who rejected it', async () => {
    await startFromPage();
    await actionStatus(page, 'Approval', 'ManualApproval', 'Waiting').waitFor({timeout: WAIT});
    const approval = page.getByRole('group', {name: 'Approval ManualApproval'});
    await approval.getByLabel('Summary').fill('Not during the sale');
    await approval.getByRole('button', {name: 'Reject'}).click();
    await stageStatus(page, 'Approval', 'Failed').waitFor({timeout: WAIT});
    const card = stage(page, 'Approval');
    await card.getByText('Rejected by').waitFor({timeout: WAIT});
    await card.getByText('Not during the sale').waitFor({timeout: WAIT});
    const s = stageState('seed', 'Approval').actionStates[0].latestExecution;
    assert.equal(s.status, 'Failed');
    assert.equal(s.summary, 'Not during the sale');
    assert.match(s.lastUpdatedBy, /user\/admin$/);
    assert.equal(latestOf('seed').status, 'Failed');
  });
  await check('Roll back re-runs Deploy with an earlier successful execution', async () => {
    const second = await startFromPage();
    await actionStatus(page, 'Approval', 'ManualApproval', 'Waiting').waitFor({timeout: WAIT});
    await page.getByRole('group', {name: 'Approval ManualApproval'})
        .getByRole('button', {name: 'Approve'})
        .click();
    await until('the second run succeeds', () => latestOf('seed').status === 'Succeeded');
    await page.getByRole('button', {name: 'Roll back Deploy'}).click();
    const dialog = page.getByRole('dialog');
    const target = dialog.getByLabel('Target execution (succeeded in this stage)');
    await target.locator(`option[value="${execId}"]`).waitFor({state: 'attached', timeout: WAIT});
    await target.selectOption(execId);
    await dialog.getByRole('button', {name: 'Roll back'}).click();
    await page.getByText('Rollback execution').first().waitFor({timeout: WAIT});
    await until('the rollback succeeds', () => {
      const l = latestOf('seed');
      return l.executionType === 'ROLLBACK' && l.status === 'Succeeded';
    });
    const l = latestOf('seed');
    assert.notEqual(l.pipelineExecutionId, second);
    assert.equal(l.rollbackMetadata?.rollbackTargetPipelineExecutionId, execId);
    await stageStatus(page, 'Deploy', 'Succeeded').waitFor({timeout: WAIT});
  });

  await check('an approval link that is not a web address is shown as text, not as a link', async () => {
    await page.goto(`${base}#/pipelines/gated`);
    const approval = page.getByRole('group', {name: 'Approval Review'});
    await approval.getByText('javascript:alert(document.domain)').waitFor({timeout: WAIT});
    assert.equal(await page.locator('a[href^="javascript:" i]').count(), 0);
    await page.goto(`${base}#/pipelines/seed`);
  });

  // 5. A failed stage, retried from the page once its cause is fixed.
  await check('flaky\'s failed Test stage is retried from the page and succeeds', async () => {
    await page.goto(`${base}#/pipelines/flaky`);
    await stageStatus(page, 'Test', 'Failed').waitFor({timeout: WAIT});
    await shot(page, 'pipeline-failed');
    writeFileSync(marker, 'fixed\n');
    await page.getByRole('button', {name: 'Retry failed actions in Test'}).click();
    await stageStatus(page, 'Test', 'Succeeded').waitFor({timeout: WAIT});
    const s = stageState('flaky', 'Test');
    assert.equal(s.latestExecution.status, 'Succeeded');
  });
  await check('an action\'s page shows its configuration and its log', async () => {
    await stage(page, 'Test').getByRole('link', {name: 'Details of action CheckMarker'}).click();
    await page.getByRole('heading', {name: 'Test / CheckMarker'}).waitFor({timeout: WAIT});
    await page.getByRole('log').getByText('the marker is there').waitFor({timeout: WAIT});
    await page.goBack();
    await stageStatus(page, 'Test', 'Succeeded').waitFor({timeout: WAIT});
  });

  // 6. The CSRF token.
  await check(
      'POST api without X-CSRF-Token is refused with 403, and with it succeeds', async () => {
        const r = await page.evaluate(async () => {
          const call = (headers) =>
              fetch('api', {
                method: 'POST',
                headers: {
                  'X-Amz-Target': 'CodePipeline_20150709.ListPipelines',
                  'Content-Type': 'application/x-amz-json-1.1',
                  ...headers
                },
                body: '{}',
              }).then(async (res) => ({status: res.status, body: await res.text()}));
          const session = await (await fetch('session')).json();
          return {
            without: await call({}),
            wrong: await call({'X-CSRF-Token': 'not-the-token'}),
            with: await call({'X-CSRF-Token': session.csrfToken}),
          };
        });
        assert.equal(r.without.status, 403, r.without.body);
        assert.match(r.without.body, /InvalidCsrfToken/);
        assert.equal(r.wrong.status, 403, r.wrong.body);
        assert.equal(r.with.status, 200, r.with.body);
        assert.deepEqual(
            JSON.parse(r.with.body).pipelines.map((p) => p.name).sort(), ['flaky', 'gated', 'seed']);
      });

  // 7. Deep links and the back button.
  await check(
      'a deep link opens directly in a new page, and back returns from an action', async () => {
        const p2 = await context.newPage();
        page = p2;
        await p2.goto(`${base}#/pipelines/seed/executions/${execId}`);
        await p2.getByRole('heading', {name: `Execution ${execId.slice(0, 8)} of seed`}).waitFor({
          timeout: WAIT
        });
        await stage(p2, 'Deploy').locator('.stage-status[data-status="Succeeded"]').waitFor({
          timeout: WAIT
        });
        await shot(p2, 'execution');
        await stage(p2, 'Build').getByRole('link', {name: 'Details of action Build'}).click();
        await p2.getByRole('heading', {name: 'Build / Build'}).waitFor({timeout: WAIT});
        await p2.getByRole('log').getByText('built the shop 1.4').waitFor({timeout: WAIT});
        await p2.getByRole('region', {name: 'Build phases'})
            .getByRole('row', {name: /BUILD/})
            .first()
            .waitFor({timeout: WAIT});
        await shot(p2, 'action-build');
        await p2.goBack();
        await p2.getByRole('heading', {name: `Execution ${execId.slice(0, 8)} of seed`}).waitFor({
          timeout: WAIT
        });
        assert.match(p2.url(), new RegExp(`#/pipelines/seed/executions/${execId}$`));
      });
  await check('a deep link without a session signs in first, then opens the page', async () => {
    const fresh = await browser.newContext({viewport: {width: 1280, height: 800}});
    const p3 = await fresh.newPage();
    p3.on('pageerror', (e) => pageErrors.push(`${p3.url()}: ${e.message}`));
    page = p3;
    await p3.goto(`${base}#/pipelines/seed/executions`);
    await p3.getByRole('heading', {name: 'Sign in to Stageline'}).waitFor({timeout: WAIT});
    await signIn(p3, key.secret);
    await p3.getByRole('heading', {name: 'Executions of seed'}).waitFor({timeout: WAIT});
    // The history table: the page's execution, started by the console with its mode.
    const row = p3.getByRole('row').filter({hasText: execId.slice(0, 8)});
    await row.getByText('StartPipelineExecution').waitFor({timeout: WAIT});
    await row.getByText('QUEUED').waitFor({timeout: WAIT});
    await shot(p3, 'history');
    await fresh.close();
  });
  await check('the console works under a path prefix behind a reverse proxy', async () => {
    // A minimal reverse proxy: https://host/ci/X -> the server's /X, streamed both ways.
    const upstream = new URL(endpoint);
    const proxy = http.createServer((req, res) => {
      if (!req.url.startsWith('/ci/')) {
        res.writeHead(404).end();
        return;
      }
      const out = http.request(
          {
            host: upstream.hostname,
            port: upstream.port,
            method: req.method,
            path: req.url.slice(3),
            headers: req.headers
          },
          (r) => {
            res.writeHead(r.statusCode, r.headers);
            r.pipe(res);
          });
      out.on('error', () => res.destroy());
      req.pipe(out);
    });
    await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const prefixed = `http://127.0.0.1:${proxy.address().port}/ci/console/`;
    const ctx = await browser.newContext({viewport: {width: 1280, height: 800}});
    try {
      const p4 = await ctx.newPage();
      page = p4;
      p4.on('pageerror', (e) => pageErrors.push(`${p4.url()}: ${e.message}`));
      const outside = [];
      p4.on('request', (r) => {
        if (!r.url().startsWith(prefixed)) outside.push(r.url());
      });
      await p4.goto(`${prefixed}#/pipelines/seed`);
      await signIn(p4, key.secret);
      await stageStatus(p4, 'Deploy', 'Succeeded').waitFor({timeout: WAIT});
      await p4.locator('.live-on').first().waitFor({timeout: WAIT});
      assert.deepEqual(outside, [], 'every request stays under the prefix');
    } finally {
      await ctx.close();
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });
  await check('signing out ends the session', async () => {
    page = await context.newPage();
    await page.goto(`${base}#/pipelines`);
    await page.getByRole('button', {name: 'Sign out'}).click();
    await page.getByRole('heading', {name: 'Sign in to Stageline'}).waitFor({timeout: WAIT});
    const status = await page.evaluate(async () => (await fetch('session')).status);
    assert.equal(status, 401);
  });
  await check('no script error happened on any page', async () => {
    assert.deepEqual(pageErrors, []);
  });
} finally {
  await browser.close();
}

console.log(`console browser tests: ${passed} passed, ${failed} failed`);
if (process.env.STAGELINE_RESULTS)
  writeFileSync(process.env.STAGELINE_RESULTS, `${passed} ${failed}\n`);
process.exit(failed === 0 ? 0 : 1);
