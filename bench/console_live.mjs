// The web console's live view, timed in Debian's chromium against a real
// server (bench/console_live.sh starts it and makes the source bucket).
//
// (a) event -> page. Pipeline `live`: an S3 source, then 20 stages of one
//     Commands action (`sleep 0.2`). While it runs, a plain client of
//     GET console/events (node's fetch) stamps each action's SUCCEEDED event
//     as it arrives (the floor: when any client can know), and a
//     MutationObserver in the page stamps the moment that stage's action shows
//     "Succeeded" on the pipeline page. Both stamps are performance.timeOrigin
//     + performance.now() (the system clock, sub-millisecond) on one machine.
//     Reported: the page's delay behind the stream, over 20 stages x RUNS.
// (b) the pipelines page with 1,000 pipelines (each an S3 source and one
//     Commands stage, run once at creation). Floor: the API reads the page's
//     first screen needs (every ListPipelines page, and one
//     ListPipelineExecutions for each of the first SHOWN pipelines, all at
//     once), made by node through the same console API. Timed: a new page
//     from navigation start until SHOWN rows show their latest execution;
//     then a StartPipelineExecution of one of them until its row links the
//     new execution. SHOWN is the page's PIPELINES_SHOWN (100); before the
//     page showed a first screen, it was every pipeline.
import {createRequire} from 'node:module';
import {performance} from 'node:perf_hooks';

const require = createRequire(new URL('../tests/e2e/console/package.json', import.meta.url));
const {chromium} = require('playwright-core');

const BASE = process.env.BENCH_URL;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const PIPELINES = Number(process.env.BENCH_PIPELINES ?? 1000);
const STAGES = 20;
const SHOWN = Number(process.env.BENCH_SHOWN ?? 100);
const now = () => performance.timeOrigin + performance.now();

// ---------------------------------------------------------------- the API
const signIn = await fetch(`${BASE}/console/session`, {
  method: 'POST',
  headers: {'Content-Type': 'application/json'},
  body: JSON.stringify({accessKeyId: process.env.BENCH_KEY_ID, secretAccessKey: process.env.BENCH_SECRET}),
});
if (signIn.status !== 200) throw new Error(`sign-in: HTTP ${signIn.status}`);
const token = signIn.headers.get('set-cookie').split(';')[0].split('=')[1];
const {csrfToken} = await signIn.json();
const cookie = `stageline_session=${token}`;

async function cp(op, body) {
  const res = await fetch(`${BASE}/console/api`, {
    method: 'POST',
    headers: {
      'X-Amz-Target': `CodePipeline_20150709.${op}`,
      'Content-Type': 'application/x-amz-json-1.1',
      'X-CSRF-Token': csrfToken,
      Cookie: cookie,
    },
    body: JSON.stringify(body),
  });
  const data = await res.json();
  if (!res.ok) throw new Error(`${op}: ${JSON.stringify(data)}`);
  return data;
}

function pipeline(name, stages, command) {
  return {
    pipeline: {
      name,
      roleArn: 'arn:aws:iam::111122223333:role/PipelineRole',
      pipelineType: 'V2',
      executionMode: 'QUEUED',
      artifactStore: {type: 'S3', location: 'bench-artifacts'},
      stages: [
        {name: 'Source', actions: [{
          name: 'Source',
          actionTypeId: {category: 'Source', owner: 'AWS', provider: 'S3', version: '1'},
          configuration: {S3Bucket: 'bench-artifacts', S3ObjectKey: 'src.zip', PollForSourceChanges: 'false'},
          outputArtifacts: [{name: 'Code'}],
        }]},
        ...Array.from({length: stages}, (_, i) => ({name: `S${i + 1}`, actions: [{
          name: 'Step',
          actionTypeId: {category: 'Compute', owner: 'AWS', provider: 'Commands', version: '1'},
          inputArtifacts: [{name: 'Code'}],
          commands: [command],
        }]})),
      ],
    },
  };
}

async function latest(name) {
  const out = await cp('ListPipelineExecutions', {pipelineName: name, maxResults: 1});
  return out.pipelineExecutionSummaries?.[0];
}
async function waitIdle(name) {
  for (;;) {
    const e = await latest(name);
    if (e && e.status !== 'InProgress') return e;
    await new Promise((r) => setTimeout(r, 100));
  }
}

// A plain client of the event stream: calls onEvent(type, detail, time).
function stream(query, onEvent) {
  const ac = new AbortController();
  (async () => {
    const res = await fetch(`${BASE}/console/events${query}`, {headers: {Cookie: cookie}, signal: ac.signal});
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body) {
      const t = now();
      buf += decoder.decode(chunk, {stream: true});
      let end;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        let type = '';
        let data = '';
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) type = line.slice(7);
          if (line.startsWith('data: ')) data += line.slice(6);
        }
        if (data) onEvent(type, JSON.parse(data).detail, t);
      }
    }
  })().catch((e) => {
    if (e.name !== 'AbortError') console.error('stream:', e.message);
  });
  return () => ac.abort();
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(p * xs.length) - 1)];
const f = (ms) => `${ms.toFixed(1)} ms`;

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const context = await browser.newContext({viewport: {width: 1280, height: 800}});
await context.addCookies([{name: 'stageline_session', value: token, domain: '127.0.0.1',
  path: '/console', httpOnly: true, sameSite: 'Strict'}]);

// ---------------------------------------------------------------- (a)
await cp('CreatePipeline', pipeline('live', STAGES, 'sleep 0.2'));
await waitIdle('live');
const delays = [];
for (let run = 0; run < RUNS; ++run) {
  const page = await context.newPage();
  await page.goto(`${BASE}/console/#/pipelines/live`);
  await page.waitForSelector('section[data-stage="S1"] article[data-action="Step"]');
  await page.evaluate(() => {
    window.__seen = {};
    const scan = () => {
      const t = performance.timeOrigin + performance.now();
      for (const s of document.querySelectorAll('section[data-stage]')) {
        const b = s.querySelector('article[data-action="Step"] .badge[data-status]');
        if (b?.dataset.status === 'Succeeded' && window.__armed && !(s.dataset.stage in window.__seen))
          window.__seen[s.dataset.stage] = t;
        if (b?.dataset.status !== 'Succeeded') delete window.__seen[s.dataset.stage];
      }
    };
    new MutationObserver(scan).observe(document.body, {subtree: true, childList: true, attributes: true});
  });
  const arrived = {};
  let execId = null;
  const stop = stream('?pipeline=live', (type, d, t) => {
    if (type === 'CodePipeline Action Execution State Change' && d['execution-id'] === execId &&
        d.state === 'SUCCEEDED' && d.stage !== 'Source')
      arrived[d.stage] = t;
  });
  await new Promise((r) => setTimeout(r, 300));  // the stream is connected
  // The page shows the previous run as Succeeded: stamps count once the new
  // run has turned each stage back to InProgress (the scan forgets it).
  await page.evaluate(() => { window.__armed = true; });
  execId = (await cp('StartPipelineExecution', {name: 'live'})).pipelineExecutionId;
  await waitIdle('live');
  await page.waitForFunction((n) => Object.keys(window.__seen).length >= n, STAGES, {timeout: 30000});
  const seen = await page.evaluate(() => window.__seen);
  stop();
  for (let i = 1; i <= STAGES; ++i) {
    const s = `S${i}`;
    if (arrived[s] && seen[s]) delays.push(seen[s] - arrived[s]);
  }
  await page.close();
}
console.log(`(a) event -> pipeline page, ${delays.length} action transitions (${STAGES} stages x ${RUNS} runs):`);
console.log(`    the page shows Succeeded after the stream delivered it: median ${f(median(delays))}, ` +
            `p95 ${f(pct(delays, 0.95))}, max ${f(Math.max(...delays))}`);

// ---------------------------------------------------------------- (b)
const names = Array.from({length: PIPELINES}, (_, i) => `p${String(i).padStart(4, '0')}`);
const t0 = now();
for (let i = 0; i < names.length; i += 50)
  await Promise.all(names.slice(i, i + 50).map((n) => cp('CreatePipeline', pipeline(n, 1, 'true'))));
console.log(`    (made ${PIPELINES} pipelines in ${((now() - t0) / 1000).toFixed(1)} s; waiting for their first runs)`);
for (let i = 0; i < names.length; i += 50) await Promise.all(names.slice(i, i + 50).map(waitIdle));

const floor = [];
for (let run = 0; run < RUNS; ++run) {
  const t = now();
  const all = [];
  let nextToken;
  do {
    const out = await cp('ListPipelines', nextToken ? {nextToken} : {});
    all.push(...out.pipelines);
    nextToken = out.nextToken;
  } while (nextToken);
  await Promise.all(all.slice(0, SHOWN).map((p) => latest(p.name)));
  floor.push(now() - t);
}
const load = [];
const parts = [];
const rowDelays = [];
const total = Math.min(PIPELINES + 1, SHOWN);  // the rows of the first screen
for (let run = 0; run < RUNS; ++run) {
  const page = await context.newPage();
  await page.goto(`${BASE}/console/#/pipelines`);
  await page.waitForFunction((n) => document.querySelectorAll('table.pipelines tbody tr').length >= n &&
      document.querySelectorAll('table.pipelines tbody tr .badge[data-status]').length >= n, total, {timeout: 120000});
  load.push(await page.evaluate(() => performance.now()));
  // Where the time went: the page's own load, and its API requests.
  parts.push(await page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const api = performance.getEntriesByType('resource').filter((r) => r.name.endsWith('/console/api'));
    return {ready: nav.domContentLoadedEventEnd, firstApi: api[0]?.startTime ?? 0,
            apis: api.length, lastApi: Math.max(...api.map((r) => r.responseEnd))};
  }));
  await new Promise((r) => setTimeout(r, 500));  // the page's event stream is connected
  const target = names[Math.floor(total / 2) + run];
  const t = now();
  const {pipelineExecutionId} = await cp('StartPipelineExecution', {name: target});
  await page.waitForFunction(([n, id]) => {
    const row = [...document.querySelectorAll('table.pipelines tbody tr')].find((r) => r.querySelector('th')?.textContent === n);
    return row && [...row.querySelectorAll('a')].some((a) => a.getAttribute('href')?.includes(id));
  }, [target, pipelineExecutionId], {timeout: 120000});
  rowDelays.push(now() - t);
  await page.close();
  await waitIdle(target);
}
console.log(`(b) the pipelines page with ${PIPELINES + 1} pipelines, its first ${total} rows, ${RUNS} runs:`);
console.log(`    floor, the same API reads by a plain client: median ${f(median(floor))}`);
console.log(`    page load to every row drawn: median ${f(median(load))} (${(median(load) / median(floor)).toFixed(1)}x the floor)`);
console.log(`    of which: the page ready (DOMContentLoaded) ${f(median(parts.map((p) => p.ready)))}, ` +
            `its first API request at ${f(median(parts.map((p) => p.firstApi)))}, ` +
            `${median(parts.map((p) => p.apis))} API requests answered by ${f(median(parts.map((p) => p.lastApi)))}`);
console.log(`    StartPipelineExecution of one pipeline to its row showing the new execution: median ${f(median(rowDelays))}, max ${f(Math.max(...rowDelays))}`);
await browser.close();
