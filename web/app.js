// The Stageline web console (docs/console.md). Plain ES2022, no framework, no
// build step and no network but the server that serves it.
//
// Every URL is RELATIVE ("api", "session", "events?...", "logs/..."): the
// console may live at /console/ or under a reverse proxy's prefix. Pages are
// hash routes (#/pipelines/NAME/...), so deep links and the back button work
// without the server's help.
//
// All reads and writes go through `POST api` with the AWS operation's
// X-Amz-Target and JSON body, so the console uses exactly the API's field
// names and is authorized like a signed call by the signed-in key. State is
// refreshed when the server's event stream says something changed: there is
// no polling timer (the one-second ticker only redraws "running for" times).

const TARGETS = {
  codepipeline: 'CodePipeline_20150709',
  codebuild: 'CodeBuild_20161006',
  codedeploy: 'CodeDeploy_20141006',
};
const EVENT_TYPES = [
  'CodePipeline Pipeline Execution State Change',
  'CodePipeline Stage Execution State Change',
  'CodePipeline Action Execution State Change',
];

// ---------------------------------------------------------------- DOM helpers

// h('a', {href, class, onclick}, child, ...): an element; children may be
// strings, nodes, arrays, or null/false (skipped). Text is never parsed as HTML.
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v == null || v === false) continue;
    if (k === 'class')
      el.className = v;
    else if (k === 'dataset')
      Object.assign(el.dataset, v);
    else if (k.startsWith('on'))
      el.addEventListener(k.slice(2), v);
    else if (k === 'value')
      el.value = v;
    else if (v === true)
      el.setAttribute(k, '');
    else
      el.setAttribute(k, String(v));
  }
  add(el, children);
  return el;
}
function add(el, children) {
  for (const c of [children].flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}
const $ = (sel, root = document) => root.querySelector(sel);

// A route path from segments, each percent-encoded: path('pipelines', name).
const path = (...segments) => '#/' + segments.map(encodeURIComponent).join('/');
// A link to a page of the console (#/...) or to an http(s) address; any other
// address (javascript:, data:, ...) from a pipeline's configuration or a job
// worker is shown as text, never followed.
const link = (text, href, attrs = {}) =>
    /^(#|https?:\/\/)/i.test(String(href ?? '')) ? h('a', {href, ...attrs}, text) :
                                                   h('span', {title: String(href ?? '')}, text);
// Ids for elements whose focus and typed text survive a live re-render.
const slug = (...parts) => parts.join('-').replace(/[^A-Za-z0-9_-]/g, '_');

// ------------------------------------------------------------- formatting

function toDate(v) {
  if (v == null || v === '') return null;
  const d = typeof v === 'number' ? new Date(v * 1000) : new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}
function fmtDuration(ms) {
  if (ms == null || ms < 0) return '';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const hrs = Math.floor(m / 60);
  return `${hrs} h ${m % 60} min`;
}
function fmtAgo(d) {
  const s = Math.round((Date.now() - d.getTime()) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return d.toLocaleDateString();
}
// <time> with a relative text ("3 min ago") and the exact time as its title.
function when(v) {
  const d = toDate(v);
  if (!d) return h('span', {class: 'muted'}, '—');
  return h(
      'time', {datetime: d.toISOString(), title: d.toLocaleString(), dataset: {ago: ''}},
      fmtAgo(d));
}
// "took 4 s" or "running for 4 s" (kept on one line), then `after`; nothing without a start.
function took(start, end, running, after = null) {
  const d = duration(start, end, running);
  return d ? [h('span', {class: 'took'}, running ? 'running for ' : 'took ', d), after] : null;
}
// " · took 4 s", or nothing.
const withDot = (t) => (t ? [' · ', t] : null);
// A duration; while `running`, it counts up with the ticker.
function duration(start, end, running) {
  const s = toDate(start);
  if (!s) return null;
  if (running) {
    return h(
        'span', {class: 'duration', dataset: {since: String(s.getTime())}},
        fmtDuration(Date.now() - s.getTime()));
  }
  const e = toDate(end);
  return e ? h('span', {class: 'duration'}, fmtDuration(e.getTime() - s.getTime())) : null;
}
setInterval(() => {
  for (const el of document.querySelectorAll('[data-since]'))
    el.textContent = fmtDuration(Date.now() - Number(el.dataset.since));
  for (const el of document.querySelectorAll('time[data-ago]'))
    el.textContent = fmtAgo(new Date(el.getAttribute('datetime')));
}, 1000);

const shortId = (id) => (id ? String(id).slice(0, 8) : '');
const shortRev = (id) => (id ? String(id).slice(0, 7) : '');
// "arn:aws:iam::111122223333:user/admin" -> "user/admin"
const principalName = (arn) => (arn ? String(arn).split(':').pop() : '');

const STATUS = {
  Succeeded: ['✓', 'succeeded'],
  Failed: ['✕', 'failed'],
  InProgress: ['↻', 'inprogress'],
  Stopping: ['◼', 'stopping'],
  Stopped: ['■', 'stopped'],
  Abandoned: ['⊘', 'abandoned'],
  Cancelled: ['⊘', 'cancelled'],
  Superseded: ['⤼', 'superseded'],
  Skipped: ['↷', 'skipped'],
  Waiting: ['‖', 'waiting'],
};
const statusWord = (s) => (s === 'InProgress' ? 'In progress' : s);
// A status as icon AND word AND colour (the icon is decoration for screen readers).
function badge(status, extraClass = '') {
  if (!status)
    return h(
        'span', {class: `badge status-none ${extraClass}`},
        h('span', {class: 'icon', 'aria-hidden': 'true'}, '○'), ' Not run');
  const [icon, cls] = STATUS[status] ?? ['•', 'other'];
  return h(
      'span', {class: `badge status-${cls} ${extraClass}`, dataset: {status}},
      h('span', {class: 'icon', 'aria-hidden': 'true'}, icon), ' ', statusWord(status));
}

// ---------------------------------------------------------------- the server

class ApiError extends Error {
  constructor(type, message, status) {
    super(message);
    this.type = type;
    this.status = status;
  }
}

let session = null;

async function readJson(res, what) {
  const text = await res.text();
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(
        'InvalidResponse',
        `${what}: the server answered HTTP ${res.status} with something that is not JSON`,
        res.status);
  }
}
const errorType = (t) => (t ? String(t).split('#').pop().split(':')[0] : 'Error');

// One AWS operation through the console's `api` endpoint.
async function call(service, operation, body = {}) {
  let res;
  try {
    res = await fetch('api', {
      method: 'POST',
      credentials: 'same-origin',
      headers: {
        'X-Amz-Target': `${TARGETS[service]}.${operation}`,
        'Content-Type': 'application/x-amz-json-1.1',
        'X-CSRF-Token': session?.csrfToken ?? '',
      },
      body: JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(
        'NetworkError', `${operation}: the server cannot be reached (${e.message})`, 0);
  }
  const data = await readJson(res, operation);
  if (res.status === 401) {
    sessionEnded();
    throw new ApiError('NotSignedIn', `${operation}: ${data.message ?? 'not signed in'}`, 401);
  }
  if (!res.ok) {
    throw new ApiError(
        errorType(data.__type),
        `${operation}: ${errorType(data.__type)}: ${
            data.message ?? data.Message ?? `HTTP ${res.status}`}`,
        res.status);
  }
  return data;
}
const cp = (op, body) => call('codepipeline', op, body);

async function getSession() {
  const res = await fetch('session', {credentials: 'same-origin'});
  if (res.status === 401) return null;
  const data = await readJson(res, 'GET session');
  if (!res.ok)
    throw new ApiError(
        errorType(data.__type), `GET session: ${data.message ?? `HTTP ${res.status}`}`, res.status);
  return data;
}

// The session is gone (expired, signed out elsewhere, server restarted):
// back to the sign-in page, which returns to this page afterwards.
function sessionEnded() {
  if (!session) return;
  session = null;
  renderWho();
  const here = currentPath();
  if (!here.startsWith('/signin')) {
    location.replace('#/signin?next=' + encodeURIComponent(here));
    showAlert('Your session has ended. Sign in again to continue.').dataset.sticky = 'true';
  }
}

// ---------------------------------------------------------------- alerts

function showAlert(message, {kind = 'error'} = {}) {
  const box = $('#alerts');
  const el =
      h('div', {class: `alert alert-${kind}`, role: kind === 'error' ? 'alert' : 'status'},
        h('span', {class: 'alert-text'}, message),
        h('button', {
          type: 'button',
          class: 'link-button',
          'aria-label': 'Dismiss message',
          onclick: () => el.remove()
        },
          '✕'));
  box.append(el);
  while (box.children.length > 4) box.firstElementChild.remove();
  // A confirmation goes away by itself; an error stays until dismissed or the page changes.
  if (kind === 'info') setTimeout(() => el.remove(), 6000);
  return el;
}
const showError = (e) => showAlert(e?.message ?? String(e));
function clearAlerts() {
  for (const el of [...$('#alerts').children]) {
    if (!el.dataset.sticky) el.remove();
  }
}

// ---------------------------------------------------------------- dialogs

// A modal <dialog> with a form. `fields(form)` returns the form's content;
// `onSubmit(form)` runs the operation; an error stays in the dialog (role=alert)
// and the dialog stays open. Escape or Cancel closes it; focus returns to the opener.
function openDialog({title, fields, submitLabel, onSubmit, danger = false}) {
  const opener = document.activeElement;
  const error = h('div', {class: 'dialog-error', role: 'alert'});
  const submit = h('button', {type: 'submit', class: danger ? 'danger' : 'primary'}, submitLabel);
  const form = h('form', {class: 'dialog-form'});
  const titleId = slug('dialog', title, String(Date.now()));
  const dlg = h('dialog', {'aria-labelledby': titleId}, form);
  add(form, [
    h('h2', {id: titleId}, title),
    fields(form, submit),
    error,
    h('div', {class: 'dialog-buttons'}, submit,
      h('button', {type: 'button', onclick: () => dlg.close()}, 'Cancel')),
  ]);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.replaceChildren();
    submit.disabled = true;
    try {
      await onSubmit(form);
      dlg.close();
    } catch (e) {
      error.textContent = e.message;
    } finally {
      submit.disabled = false;
    }
  });
  dlg.addEventListener('close', () => {
    dlg.remove();
    if (opener && document.contains(opener)) opener.focus();
  });
  document.body.append(dlg);
  dlg.showModal();
  return dlg;
}
function field(label, input, hint) {
  const id = input.id || slug('f', label, String(Math.random()).slice(2));
  input.id = id;
  return h('div', {class: 'field'}, h('label', {for: id
           }, label), input, hint ? h('div', {class: 'hint'}, hint) : null);
}

// ---------------------------------------------------------------- routing

let leaveHandlers = [];
let generation = 0;

function currentPath() {
  const raw = location.hash.replace(/^#/, '');
  return raw === '' ? '/pipelines' : raw;
}
function parseRoute() {
  const [p, q = ''] = currentPath().split('?');
  const segments = p.split('/').filter(Boolean).map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  });
  return {segments, query: new URLSearchParams(q)};
}

// A page's handle: alive() is false once the user has left the page (a late
// answer must not draw over the next page), onLeave(fn) cleans up streams.
function newContext() {
  const gen = ++generation;
  return {
    alive: () => gen === generation,
    onLeave: (fn) => leaveHandlers.push(fn),
  };
}

async function route() {
  for (const fn of leaveHandlers.splice(0)) {
    try {
      fn();
    } catch {
      /* a cleanup must not stop navigation */
    }
  }
  for (const d of document.querySelectorAll('dialog')) d.close();
  clearAlerts();
  const ctx = newContext();
  const {segments, query} = parseRoute();
  const main = $('#main');

  if (segments[0] === 'signin') {
    if (session) {
      location.replace('#' + safeNext(query.get('next')));
      return;
    }
    return pageSignIn(ctx, main, query.get('next'));
  }
  if (!session) {
    location.replace('#/signin?next=' + encodeURIComponent(currentPath()));
    return;
  }
  const [top, name, sub, execId, sub2, stage, action] = segments;
  try {
    if (top === 'pipelines' && !name) return await pagePipelines(ctx, main);
    if (top === 'pipelines' && name && !sub) return await pagePipeline(ctx, main, name);
    if (top === 'pipelines' && sub === 'executions' && !execId)
      return await pageHistory(ctx, main, name);
    if (top === 'pipelines' && sub === 'executions' && execId && !sub2)
      return await pageExecution(ctx, main, name, execId);
    if (top === 'pipelines' && sub === 'executions' && sub2 === 'actions' && stage && action)
      return await pageAction(ctx, main, name, execId, stage, action);
    setPage(
        main, 'Not found', [],
        h('p', {}, 'There is no page here. ', link('Go to the pipelines', '#/pipelines'), '.'));
  } catch (e) {
    if (!ctx.alive()) return;
    if (e.status !== 401) showError(e);
  }
}

// Replaces the page: title, breadcrumbs, content; focus moves to the heading.
function setPage(main, title, crumbs, ...content) {
  document.title = `${title} · Stageline`;
  const nav = $('#crumbs');
  const items = [['Pipelines', crumbs.length ? '#/pipelines' : null], ...crumbs];
  nav.replaceChildren(h(
      'ol', {},
      items.map(
          ([text, href], i) =>
              h('li', {},
                i === items.length - 1 && href == null ? h('span', {'aria-current': 'page'}, text) :
                                                         link(text, href ?? '#/pipelines')))));
  main.replaceChildren(...content.flat(Infinity).filter((c) => c != null && c !== false));
  main.removeAttribute('aria-busy');
  const h1 = $('h1', main);
  if (h1) {
    h1.tabIndex = -1;
    h1.focus({preventScroll: true});
  }
}

function safeNext(next) {
  // Only a route of this console: never a URL elsewhere.
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/signin') ?
      next :
      '/pipelines';
}

// ---------------------------------------------------------------- live events

// Calls `refresh` (coalesced: see coalesce) when the event stream of
// `pipeline` (or of every pipeline) reports a change, and once when the
// stream (re)connects, to catch up. With `onEvent`, each event's detail goes
// to it first, and `refresh` runs only when it returns false.
function live(ctx, pipeline, refresh, indicator, onEvent) {
  const run = coalesce(refresh, 150);
  const changed = (ev) => {
    if (onEvent) {
      let detail = null;
      try {
        detail = JSON.parse(ev.data).detail;
      } catch {
        /* not an event of ours: refresh all */
      }
      if (onEvent(detail)) return;
    }
    run();
  };
  const url = pipeline ? `events?pipeline=${encodeURIComponent(pipeline)}` : 'events';
  const es = new EventSource(url);
  const setLive = (on, text) => {
    if (!indicator) return;
    indicator.className = `live ${on ? 'live-on' : 'live-off'}`;
    indicator.textContent = text;
  };
  for (const t of EVENT_TYPES) es.addEventListener(t, changed);
  es.onmessage = changed;
  // On every (re)connect, catch up with what changed before the stream was
  // there (the first draw and the connection race) or while it was away.
  es.onopen = () => {
    setLive(true, 'Live');
    run();
  };

  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED) {
      setLive(false, 'Not live');
      // Refused (e.g. the session ended): find out why.
      getSession().then((s) => {
        if (!s) sessionEnded();
      }, () => {});
    } else {
      setLive(false, 'Reconnecting…');
    }
  };
  ctx.onLeave(() => es.close());
  return es;
}
// `fn` run as changes come: the first change after a quiet spell runs it at
// once; changes while it runs, or within `delayMs` of its last start, make
// one more run `delayMs` after that start (a burst of events costs at most one
// run per `delayMs`, and the last change is never missed).
function coalesce(fn, delayMs) {
  let timer = null;
  let running = false;
  let again = false;
  let lastStart = -Infinity;
  const fire = async () => {
    timer = null;
    running = true;
    again = false;
    lastStart = performance.now();
    try {
      await fn();
    } catch (e) {
      if (e.status !== 401) showError(e);
    } finally {
      running = false;
      if (again) schedule();
    }
  };
  const schedule = () => {
    if (running) {
      again = true;
      return;
    }
    if (!timer) timer = setTimeout(fire, Math.max(0, lastStart + delayMs - performance.now()));
  };
  return schedule;
}

// Re-renders `container` with new children, keeping the focused element (by
// id), what was typed into inputs with ids, and the scroll positions.
const drafts = new Map();
document.addEventListener('input', (ev) => {
  if (ev.target.id && ev.target.matches('input, textarea, select'))
    drafts.set(ev.target.id, ev.target.value);
});
function rerender(container, ...children) {
  const focusedId = container.contains(document.activeElement) ? document.activeElement.id : '';
  const scrolls = [...container.querySelectorAll('[data-keep-scroll]')].map(
      (e) => [e.dataset.keepScroll, e.scrollLeft, e.scrollTop]);
  container.replaceChildren(...children.flat(Infinity).filter((c) => c != null && c !== false));
  for (const el of container.querySelectorAll('input[id], textarea[id]')) {
    if (drafts.has(el.id)) el.value = drafts.get(el.id);
  }
  for (const [key, left, top] of scrolls) {
    const el = container.querySelector(`[data-keep-scroll="${key}"]`);
    if (el) {
      el.scrollLeft = left;
      el.scrollTop = top;
    }
  }
  if (focusedId) document.getElementById(focusedId)?.focus({preventScroll: true});
}

// ---------------------------------------------------------------- sign in

function pageSignIn(ctx, main, next) {
  const error = h('div', {class: 'form-error', role: 'alert'});
  const id = h('input', {
    id: 'signin-id',
    name: 'accessKeyId',
    autocomplete: 'username',
    required: true,
    spellcheck: 'false'
  });
  const secret = h('input', {
    id: 'signin-secret',
    name: 'secretAccessKey',
    type: 'password',
    autocomplete: 'current-password',
    required: true
  });
  const button = h('button', {type: 'submit', class: 'primary'}, 'Sign in');
  const form = h(
      'form', {class: 'signin', 'aria-labelledby': 'signin-title'},
      h('h1', {id: 'signin-title'}, 'Sign in to Stageline'),
      h('p', {class: 'muted'},
        'Use an access key from the server\'s credentials file. Everything you do here is authorized as that key, like a signed API call.'),
      field('Access key ID', id), field('Secret access key', secret), error, button);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.replaceChildren();
    button.disabled = true;
    try {
      const res = await fetch('session', {
        method: 'POST',
        credentials: 'same-origin',
        headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({accessKeyId: id.value.trim(), secretAccessKey: secret.value}),
      });
      const data = await readJson(res, 'sign in');
      if (!res.ok) {
        error.textContent = res.status === 401 ?
            `Sign-in failed: ${data.message ?? 'the access key ID or the secret is wrong'}` :
            `Sign-in failed: ${errorType(data.__type)}: ${data.message ?? `HTTP ${res.status}`}`;
        secret.select();
        return;
      }
      session = data;
      renderWho();
      $('#alerts').replaceChildren();
      location.replace('#' + safeNext(next));
    } catch (e) {
      error.textContent = `Sign-in failed: ${e.message}`;
    } finally {
      button.disabled = false;
    }
  });
  $('#crumbs').replaceChildren();
  document.title = 'Sign in · Stageline';
  main.replaceChildren(form);
  id.focus();
}

function renderWho() {
  const who = $('#who');
  if (!session) {
    who.replaceChildren();
    return;
  }
  who.replaceChildren(
      h('span', {class: 'principal', title: session.principal ?? ''},
        principalName(session.principal) || session.accessKeyId),
      h('span', {class: 'region muted'}, session.region ?? ''),
      h('button', {type: 'button', onclick: signOut}, 'Sign out'));
}

async function signOut() {
  try {
    const res = await fetch('session', {
      method: 'DELETE',
      credentials: 'same-origin',
      headers: {'X-CSRF-Token': session?.csrfToken ?? ''}
    });
    if (!res.ok && res.status !== 401) {
      const data = await readJson(res, 'sign out');
      throw new Error(`Sign-out failed: ${data.message ?? `HTTP ${res.status}`}`);
    }
    session = null;
    renderWho();
    clearAlerts();
    location.hash = '#/signin';
  } catch (e) {
    showError(e);
  }
}

// ---------------------------------------------------------------- pipelines

// The pipelines page shows this many rows at a time (each costs one
// ListPipelineExecutions); "Show more" and the name filter reach the rest.
const PIPELINES_SHOWN = 100;

async function pagePipelines(ctx, main) {
  main.setAttribute('aria-busy', 'true');
  const indicator = h('span', {class: 'live'}, '');
  const body = h('div', {});
  let names = [];           // every pipeline (ListPipelines), in the API's order
  let limit = PIPELINES_SHOWN;
  let filter = '';
  const latest = new Map();  // name -> the latest execution summary (or {error}), as fetched
  let stale = new Set();     // names in `latest` to fetch again when shown (after a redraw)
  // The rows on screen, by pipeline name: an event about one pipeline redraws
  // its row only (one ListPipelineExecutions), not the page.
  let rows = new Map();
  const fillRow = (row, e) => {
    row.status.replaceChildren(
        e?.error ? h('span', {class: 'inline-error'}, e.error) :
            e    ? link(badge(e.status), path('pipelines', row.name, 'executions', e.pipelineExecutionId),
                        {'aria-label': `Latest execution of ${row.name}: ${statusWord(e.status)}`}) :
                   badge(null));
    row.started.replaceChildren(e?.startTime ? when(e.startTime) : '—');
    row.revision.replaceChildren(revisions(e?.sourceRevisions));
  };
  const latestOf = (name) => cp('ListPipelineExecutions', {pipelineName: name, maxResults: 1})
                                 .then((o) => o.pipelineExecutionSummaries?.[0] ?? null,
                                       (e) => (e.status === 401 ? Promise.reject(e) : {error: e.message}));
  const filterInput = h('input', {
    id: 'pipelines-filter', type: 'search', autocomplete: 'off', spellcheck: 'false',
    placeholder: 'Part of a name',
  });
  filterInput.addEventListener('input', () => {
    filter = filterInput.value.trim().toLowerCase();
    limit = PIPELINES_SHOWN;
    show().catch(showError);
  });
  // Draws the table of the names that match the filter, up to `limit`; the
  // rows whose latest execution is not known yet are fetched a few at a time.
  const show = async () => {
    if (names.length === 0) {
      rows = new Map();
      rerender(
          body,
          h('p', {class: 'empty'}, 'No pipelines yet. Create one with ',
            h('code', {}, 'aws codepipeline create-pipeline'), ' or ',
            h('code', {}, 'stageline apply'), '.'));
      return;
    }
    const matching = filter ? names.filter((p) => p.name.toLowerCase().includes(filter)) : names;
    const visible = matching.slice(0, limit);
    const next = new Map();
    const trs = visible.map((p) => {
      const row = {
        name: p.name,
        status: h('td', {}, h('span', {class: 'muted'}, 'Loading…')),
        started: h('td', {}, ''),
        revision: h('td', {}, ''),
      };
      if (latest.has(p.name)) fillRow(row, latest.get(p.name));
      next.set(p.name, row);
      return h('tr', {}, h('th', {scope: 'row'}, link(p.name, path('pipelines', p.name))), row.status,
               row.started, row.revision,
               h('td', {}, [p.executionMode ?? 'SUPERSEDED', p.pipelineType ? ` · ${p.pipelineType}` : '']));
    });
    rows = next;
    const more = matching.length - visible.length;
    rerender(
        body,
        h('div', {class: 'list-tools'}, field('Filter pipelines', filterInput),
          h('p', {class: 'muted', role: 'status'},
            filter ? `${matching.length} of ${names.length} pipelines match` :
                     `${names.length} pipeline${names.length === 1 ? '' : 's'}`,
            more > 0 ? ` · showing ${visible.length}` : '')),
        visible.length === 0 ? h('p', {class: 'empty'}, 'No pipeline name contains that.') :
          h('div', {class: 'table-wrap'},
            h('table', {class: 'pipelines'},
              h('caption', {class: 'sr-only'}, 'Pipelines and their latest executions'),
              h('thead', {},
                h('tr', {},
                  ['Pipeline', 'Latest execution', 'Started', 'Source revision', 'Mode'].map(
                      (c) => h('th', {scope: 'col'}, c)))),
              h('tbody', {}, trs))),
        more > 0 ? h('p', {},
          h('button', {type: 'button', onclick: () => {
            limit += PIPELINES_SHOWN;
            show().catch(showError);
          }}, `Show ${Math.min(more, PIPELINES_SHOWN)} more (of ${more})`)) : null);
    const queue = [...next.values()].filter((row) => !latest.has(row.name) || stale.has(row.name));
    const worker = async () => {
      for (let row; (row = queue.shift());) {
        const e = await latestOf(row.name);
        latest.set(row.name, e);
        stale.delete(row.name);
        if (!ctx.alive() || rows !== next) return;  // left, or redrawn meanwhile
        fillRow(row, e);
      }
    };
    await Promise.all(Array.from({length: 6}, worker));
  };
  // Everything again: the names, and the shown rows' latest executions.
  const draw = async () => {
    const all = [];
    let nextToken;
    do {
      const out = await cp('ListPipelines', nextToken ? {nextToken} : {});
      all.push(...(out.pipelines ?? []));
      nextToken = out.nextToken;
    } while (nextToken);
    if (!ctx.alive()) return;
    names = all;
    stale = new Set(latest.keys());  // shown as they were until fetched again
    await show();
  };
  const rowRefreshers = new Map();
  const onEvent = (detail) => {
    const name = detail?.pipeline;
    if (!name || !names.some((p) => p.name === name)) return false;  // a new pipeline: redraw all
    latest.delete(name);  // known again when it is shown
    if (!rows.has(name)) return true;  // not on screen
    if (!rowRefreshers.has(name)) {
      rowRefreshers.set(name, coalesce(async () => {
        const row = rows.get(name);
        if (!row) return;
        const e = await latestOf(name);
        latest.set(name, e);
        if (ctx.alive() && rows.get(name) === row) fillRow(row, e);
      }, 150));
    }
    rowRefreshers.get(name)();
    return true;
  };
  setPage(
      main, 'Pipelines', [], h('div', {class: 'page-head'}, h('h1', {}, 'Pipelines'), indicator),
      body);
  await draw();
  live(ctx, null, draw, indicator, onEvent);
}

// Source revisions as "abc1234 message" (commit id short, then the summary).
function revisions(list) {
  if (!list || list.length === 0) return h('span', {class: 'muted'}, '—');
  return h(
      'ul', {class: 'revisions'},
      list.map(
          (r) =>
              h('li', {},
                r.revisionUrl ? link(
                                    h('code', {}, shortRev(r.revisionId)), r.revisionUrl,
                                    {rel: 'noopener', title: r.revisionId}) :
                                h('code', {title: r.revisionId ?? ''}, shortRev(r.revisionId)),
                ' ', h('span', {class: 'rev-summary'}, summaryText(r.revisionSummary)))));
}
// A revisionSummary may be JSON ({"ProviderType":"GitHub","CommitMessage":...}).
function summaryText(s) {
  if (!s) return '';
  try {
    const j = JSON.parse(s);
    if (j && typeof j === 'object') return j.CommitMessage ?? s;
  } catch {
    /* plain text */
  }
  return s;
}

// ---------------------------------------------------------------- pipeline page

async function pagePipeline(ctx, main, name) {
  main.setAttribute('aria-busy', 'true');
  let pipeline = null;
  const indicator = h('span', {class: 'live'}, '');
  const head = h('div', {class: 'pipeline-head'});
  const flow = h('div', {class: 'workflow-wrap'});
  let shown = '';
  const draw = async () => {
    const [state, execs, actions] = await Promise.all([
      cp('GetPipelineState', {name}),
      cp('ListPipelineExecutions', {pipelineName: name, maxResults: 10}),
      cp('ListActionExecutions', {pipelineName: name, maxResults: 100}),
    ]);
    if (!pipeline || pipeline.version !== state.pipelineVersion)
      pipeline = (await cp('GetPipeline', {name})).pipeline;
    if (!ctx.alive()) return;
    // Nothing changed (a catch-up after a reconnect, an event already
    // shown): the page stays as it is, focus and all.
    const key = JSON.stringify([pipeline, state, execs, actions]);
    if (key === shown) return;
    shown = key;
    const summaries = execs.pipelineExecutionSummaries ?? [];
    const byId =
        new Map((actions.actionExecutionDetails ?? []).map((a) => [a.actionExecutionId, a]));
    rerender(head, pipelineHead(pipeline, summaries[0], indicator, refreshNow));
    rerender(flow, workflow(pipeline, state, summaries, byId, refreshNow));
  };
  const refreshNow = coalesce(draw, 0);
  setPage(
      main, name, [[name]], h('div', {class: 'page-head'}, h('h1', {}, name), indicator), head,
      flow);
  await draw();
  live(ctx, name, draw, indicator);
}

function pipelineHead(pipeline, latest, indicator, refresh) {
  const name = pipeline.name;
  const running = latest && (latest.status === 'InProgress' || latest.status === 'Stopping');
  return [
    h('p', {class: 'muted pipeline-facts'},
      `Version ${pipeline.version ?? 1} · ${pipeline.pipelineType ?? 'V1'} · execution mode ${
          pipeline.executionMode ?? 'SUPERSEDED'}`),
    h('div', {class: 'latest'}, h('span', {class: 'label'}, 'Latest execution: '),
      latest ?
          [
            badge(latest.status), ' ',
            link(
                shortId(latest.pipelineExecutionId),
                path('pipelines', name, 'executions', latest.pipelineExecutionId),
                {'aria-label': `Execution ${latest.pipelineExecutionId}`}),
            ' · ', trigger(latest.trigger), ' · started ', when(latest.startTime),
            withDot(took(latest.startTime, latest.lastUpdateTime, running)),
            h('div', {class: 'latest-revisions'}, revisions(latest.sourceRevisions))
          ] :
          h('span', {class: 'muted'}, 'none yet')),
    h('div', {class: 'toolbar'},
      h('button', {
        type: 'button',
        class: 'primary',
        id: 'start-execution',
        onclick: () => startDialog(pipeline, refresh)
      },
        '▶ Start execution'),
      running ? h('button', {
        type: 'button',
        id: 'stop-execution',
        onclick: () => stopDialog(name, latest.pipelineExecutionId, refresh)
      },
                  '■ Stop execution') :
                null,
      link('Execution history', path('pipelines', name, 'executions'), {class: 'button-link'})),
  ];
}
function trigger(t) {
  if (!t) return '';
  return h('span', {class: 'trigger', title: t.triggerDetail ?? ''}, t.triggerType ?? '');
}

// The visual workflow: stages in order with the transitions between them.
function workflow(pipeline, state, summaries, byId, refresh) {
  const states = new Map((state.stageStates ?? []).map((s) => [s.stageName, s]));
  const revByExec = new Map(summaries.map((s) => [s.pipelineExecutionId, s.sourceRevisions]));
  const items = [];
  pipeline.stages.forEach((stage, i) => {
    const st = states.get(stage.name) ?? {};
    if (i > 0)
      items.push(transition(pipeline.name, stage.name, st.inboundTransitionState, refresh));
    items.push(stageBox(pipeline, stage, i, st, byId, revByExec, refresh));
  });
  return h(
      'section', {class: 'workflow', 'aria-label': 'Workflow', 'data-keep-scroll': 'workflow'},
      items);
}

function transition(pipelineName, stageName, ts, refresh) {
  const enabled = !ts || ts.enabled !== false;
  return h(
      'div', {class: `transition ${enabled ? 'enabled' : 'disabled'}`, dataset: {into: stageName}},
      h('span', {class: 'arrow', 'aria-hidden': 'true'}, enabled ? '➜' : '⇥'),
      enabled ?
          h('button', {
            type: 'button',
            class: 'small',
            id: slug('disable', stageName),
            'aria-label': `Disable transition into ${stageName}`,
            onclick: () => disableDialog(pipelineName, stageName, refresh)
          },
            'Disable') :
          [
            h('div', {class: 'transition-reason'}, h('strong', {}, 'Disabled'),
              ts.disabledReason ? [': ', h('span', {class: 'reason'}, ts.disabledReason)] : null,
              ts.lastChangedBy ? h('div', {class: 'muted small-text'}, 'by ',
                                   principalName(ts.lastChangedBy), ' ', when(ts.lastChangedAt)) :
                                 null),
            h('button', {
              type: 'button',
              class: 'small',
              id: slug('enable', stageName),
              'aria-label': `Enable transition into ${stageName}`,
              onclick: () =>
                  act(() =>
                          cp('EnableStageTransition',
                             {pipelineName, stageName, transitionType: 'Inbound'}),
                      refresh)
            },
              'Enable')
          ]);
}

// Runs an operation from a button; an error is shown, success refreshes at once.
async function act(op, refresh, message) {
  try {
    const out = await op();
    if (message) showAlert(message(out), {kind: 'info'});
    refresh?.();
    return out;
  } catch (e) {
    if (e.status !== 401) showError(e);
  }
}

function groupByRunOrder(actions) {
  const groups = new Map();
  for (const a of actions) {
    const k = a.runOrder ?? 1;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(a);
  }
  return [...groups.entries()].sort((x, y) => x[0] - y[0]);
}

function stageBox(pipeline, stage, index, st, byId, revByExec, refresh) {
  const exec = st.latestExecution;
  const actionStates = new Map((st.actionStates ?? []).map((a) => [a.actionName, a]));
  // The stage's duration: from its first action's start to its last action's end, in that
  // execution.
  const mine = exec ?
      [...byId.values()].filter(
          (a) => a.pipelineExecutionId === exec.pipelineExecutionId && a.stageName === stage.name) :
      [];
  const starts = mine.map((a) => toDate(a.startTime)?.getTime()).filter(Boolean);
  const ends = mine.map((a) => toDate(a.lastUpdateTime)?.getTime()).filter(Boolean);
  const running = exec?.status === 'InProgress';
  const stageDuration = starts.length ?
      took(Math.min(...starts) / 1000, ends.length ? Math.max(...ends) / 1000 : null, running) :
      null;
  const failed = exec && (exec.status === 'Failed' || exec.status === 'Stopped');
  return h('section', {class: `stage status-${(STATUS[exec?.status] ?? ['', 'none'])[1]}`, 'aria-label': `Stage ${stage.name}`, dataset: {stage: stage.name}},
    h('div', {class: 'stage-head'},
      h('h2', {}, stage.name),
      badge(exec?.status, 'stage-status')),
    h('div', {class: 'stage-meta'},
      exec ? [link(`Execution ${shortId(exec.pipelineExecutionId)}`, path('pipelines', pipeline.name, 'executions', exec.pipelineExecutionId)), withDot(stageDuration)] : h('span', {class: 'muted'}, 'Not run yet'),
      exec?.type === 'ROLLBACK' ? h('span', {class: 'tag'}, 'rollback') : null),
    h('div', {class: 'groups'}, groupByRunOrder(stage.actions).map(([order, actions]) =>
      h('div', {class: 'group', 'aria-label': `Run order ${order}`, role: 'group'}, actions.map((a) =>
        actionCard(pipeline, stage, a, actionStates.get(a.name), byId, revByExec, exec, refresh))))),
    h('div', {class: 'stage-tools'},
      failed ? [
        h('button', {type: 'button', id: slug('retry-failed', stage.name), 'aria-label': `Retry failed actions in ${stage.name}`,
          onclick: () => act(() => cp('RetryStageExecution', {pipelineName: pipeline.name, stageName: stage.name, pipelineExecutionId: exec.pipelineExecutionId, retryMode: 'FAILED_ACTIONS'}), refresh,
            (o) => `Retrying the failed actions of ${stage.name} in execution ${shortId(o.pipelineExecutionId)}`)}, '↻ Retry failed actions'),
        h('button', {type: 'button', id: slug('retry-all', stage.name), 'aria-label': `Retry all actions in ${stage.name}`,
          onclick: () => act(() => cp('RetryStageExecution', {pipelineName: pipeline.name, stageName: stage.name, pipelineExecutionId: exec.pipelineExecutionId, retryMode: 'ALL_ACTIONS'}), refresh,
            (o) => `Retrying all actions of ${stage.name} in execution ${shortId(o.pipelineExecutionId)}`)}, '↻ Retry all actions')] : null,
      index > 0 && pipeline.pipelineType === 'V2' && exec
        ? h('button', {type: 'button', class: 'quiet', id: slug('rollback', stage.name), 'aria-label': `Roll back ${stage.name}`, onclick: () => rollbackDialog(pipeline.name, stage.name, refresh)}, '⤺ Roll back…')
        : null));
}

function actionCard(pipeline, stage, decl, as, byId, revByExec, stageExec, refresh) {
  const le = as?.latestExecution;
  const detail = le ? byId.get(le.actionExecutionId) : null;
  const type = decl.actionTypeId ?? {};
  const isApproval = type.category === 'Approval';
  const waiting = isApproval && le?.status === 'InProgress' && le.token;
  const execId = detail?.pipelineExecutionId ?? stageExec?.pipelineExecutionId;
  const title = execId ?
      link(
          decl.name,
          path('pipelines', pipeline.name, 'executions', execId, 'actions', stage.name, decl.name),
          {'aria-label': `Details of action ${decl.name}`}) :
      decl.name;
  const statusForBadge = waiting ? 'Waiting' : le?.status;
  const srcRev = type.category === 'Source' && as?.currentRevision ?
      (revByExec.get(execId) ?? []).find((r) => r.actionName === decl.name) ??
          {revisionId: as.currentRevision.revisionId} :
      null;
  return h(
      'article', {
        class: `action status-${(STATUS[statusForBadge] ?? ['', 'none'])[1]}`,
        'aria-label': `Action ${decl.name}`,
        dataset: {action: decl.name}
      },
      h('div', {class: 'action-head'}, h('h3', {}, title), badge(statusForBadge, 'action-status')),
      h('div', {class: 'provider muted'}, `${type.category ?? ''} · ${type.provider ?? ''}`),
      le ? h('div', {class: 'action-meta'},
             detail ?
                 took(detail.startTime, detail.lastUpdateTime, le.status === 'InProgress', ' · ') :
                 null,
             when(le.lastStatusChange)) :
           null,
      srcRev ? h('div', {class: 'source-rev'}, revisions([srcRev])) : null,
      le?.summary && !isApproval && le.summary !== summaryText(srcRev?.revisionSummary) ?
          h('div', {class: 'summary'}, le.summary) :
          null,
      le?.errorDetails?.message && !isApproval && le.errorDetails.message !== le.summary ?
          h('div', {class: 'error-details'}, le.errorDetails.message) :
          null,
      le?.externalExecutionUrl ?
          h('div', {},
            link(
                'External details', le.externalExecutionUrl, {rel: 'noopener', target: '_blank'})) :
          null,
      isApproval ? approvalPanel(pipeline.name, stage.name, decl, le, detail, refresh) : null);
}

// A manual approval: waiting (CustomData, link, summary, Approve / Reject) or answered (who, when,
// why).
function approvalPanel(pipelineName, stageName, decl, le, detail, refresh) {
  if (!le) return null;
  const config = detail?.input?.resolvedConfiguration ?? detail?.input?.configuration ??
      decl.configuration ?? {};
  const info = [
    config.CustomData ? h('p', {class: 'custom-data'}, config.CustomData) : null,
    config.ExternalEntityLink ? h('p', {},
                                  link(
                                      config.ExternalEntityLink, config.ExternalEntityLink,
                                      {rel: 'noopener', target: '_blank', class: 'external'})) :
                                null,
  ];
  if (le.status === 'InProgress' && le.token) {
    const inputId = slug('approval-summary', stageName, decl.name);
    const input = h('input', {
      id: inputId,
      name: 'summary',
      maxlength: 512,
      placeholder: 'Why (optional)',
      autocomplete: 'off'
    });
    let decision = 'Approved';
    const form =
        h('form', {class: 'approval-form'}, field('Summary', input),
          h('div', {class: 'approval-buttons'},
            h('button', {
              type: 'submit',
              class: 'approve',
              id: slug('approve', stageName, decl.name),
              onclick: () => {
                decision = 'Approved';
              }
            },
              '✓ Approve'),
            h('button', {
              type: 'submit',
              class: 'danger',
              id: slug('reject', stageName, decl.name),
              onclick: () => {
                decision = 'Rejected';
              }
            },
              '✕ Reject')));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      for (const b of form.querySelectorAll('button')) b.disabled = true;
      const summary = input.value;
      const out = await act(
          () => cp('PutApprovalResult', {
            pipelineName,
            stageName,
            actionName: decl.name,
            token: le.token,
            result: {status: decision, summary}
          }),
          refresh, () => `${decision} ${stageName}/${decl.name}`);
      if (out) drafts.delete(inputId);
      for (const b of form.querySelectorAll('button')) b.disabled = false;
    });
    return h(
        'div', {class: 'approval waiting', role: 'group', 'aria-label': `Approval ${decl.name}`},
        h('p', {class: 'approval-title'}, 'Waiting for approval'), info,
        h('p', {class: 'muted small-text'},
          'Who may act: anyone signed in with an enabled access key of this server (stageline keys list); the answer is recorded under that key\'s user.'),
        form);
  }
  const by = le.lastUpdatedBy;
  const verdict = le.status === 'Succeeded' ? 'Approved' :
      le.status === 'Failed'                ? 'Rejected' :
                                              statusWord(le.status);
  return h(
      'div', {class: 'approval done'}, info,
      h('p', {class: 'approver'}, verdict,
        by ? [' by ', h('strong', {title: by}, principalName(by))] : null, ' ',
        when(le.lastStatusChange)),
      le.summary ? h('p', {class: 'approval-summary'}, '“', le.summary, '”') : null,
      le.status === 'Failed' && le.errorDetails?.message && !le.summary ?
          h('p', {class: 'error-details'}, le.errorDetails.message) :
          null);
}

// ---------------------------------------------------------------- dialogs for operations

function startDialog(pipeline, refresh) {
  const vars = pipeline.variables ?? [];
  openDialog({
    title: `Start ${pipeline.name}`,
    submitLabel: 'Start',
    fields: () => vars.length === 0 ?
        h('p', {}, 'Start a new execution on the latest source revisions?') :
        [
          h('p', {}, 'Pipeline variables for this execution:'),
          vars.map(
              (v) => field(
                  v.name,
                  h('input',
                    {name: v.name, value: v.defaultValue ?? '', dataset: {variable: v.name}}),
                  v.description))
        ],
    onSubmit: async (form) => {
      const variables = [...form.querySelectorAll('[data-variable]')].map(
          (i) => ({name: i.dataset.variable, value: i.value}));
      const out = await cp(
          'StartPipelineExecution',
          variables.length ? {name: pipeline.name, variables} : {name: pipeline.name});
      showAlert(`Started execution ${out.pipelineExecutionId}`, {kind: 'info'});
      refresh?.();
    },
  });
}

function stopDialog(pipelineName, pipelineExecutionId, refresh) {
  openDialog({
    title: `Stop execution ${shortId(pipelineExecutionId)}`,
    submitLabel: 'Stop execution',
    danger: true,
    fields: () =>
        [field('Reason', h('input', {name: 'reason', maxlength: 200})),
         h('fieldset', {}, h('legend', {}, 'How to stop'),
           h('label', {class: 'radio'},
             h('input', {type: 'radio', name: 'mode', value: 'wait', checked: true}),
             ' Stop and wait: running actions finish'),
           h('label', {class: 'radio'}, h('input', {type: 'radio', name: 'mode', value: 'abandon'}),
             ' Stop and abandon: running actions are abandoned')),
  ],
    onSubmit: async (form) => {
      const abandon = form.elements.mode.value === 'abandon';
      const reason = form.elements.reason.value;
      await cp(
          'StopPipelineExecution',
          {pipelineName, pipelineExecutionId, abandon, ...(reason ? {reason} : {})});
      refresh?.();
    },
  });
}

function disableDialog(pipelineName, stageName, refresh) {
  openDialog({
    title: `Disable the transition into ${stageName}`,
    submitLabel: 'Disable transition',
    fields: () => field(
        'Reason', h('input', {
          name: 'reason',
          required: true,
          maxlength: 300,
          pattern: '[a-zA-Z0-9!@ \\(\\)\\.\\*\\?\\-]+'
        }),
        'Letters, digits, spaces and ! @ ( ) . * ? - (at most 300). Executions stop before this stage until it is enabled.'),
    onSubmit: async (form) => {
      await cp(
          'DisableStageTransition',
          {pipelineName, stageName, transitionType: 'Inbound', reason: form.elements.reason.value});
      refresh?.();
    },
  });
}

function rollbackDialog(pipelineName, stageName, refresh) {
  const select =
      h('select', {name: 'target', required: true}, h('option', {value: ''}, 'Loading…'));
  openDialog({
    title: `Roll back ${stageName}`,
    submitLabel: 'Roll back',
    danger: true,
    fields: (form, submit) => {
      submit.disabled = true;
      cp('ListPipelineExecutions',
         {pipelineName, maxResults: 50, filter: {succeededInStage: {stageName}}})
          .then(
              (out) => {
                const ok = (out.pipelineExecutionSummaries ?? [])
                               .filter(
                                   (e) => e.status === 'Succeeded' || e.status === 'InProgress' ||
                                       e.status === 'Failed' || e.status === 'Stopped');
                select.replaceChildren(
                    ...(ok.length === 0 ?
                            [h('option', {value: ''}, 'No execution has succeeded in this stage')] :
                            ok.map(
                                (e) =>
                                    h('option', {value: e.pipelineExecutionId},
                                      `${shortId(e.pipelineExecutionId)} · ${
                                          toDate(e.startTime)?.toLocaleString() ?? ''} · ${
                                          (e.sourceRevisions ?? [])
                                              .map(
                                                  (r) => `${shortRev(r.revisionId)} ${
                                                      summaryText(r.revisionSummary)}`)
                                              .join(', ')}`))));
                submit.disabled = ok.length === 0;
              },
              (e) => {
                select.replaceChildren(h('option', {value: ''}, 'Cannot list executions'));
                form.querySelector('.dialog-error').textContent = e.message;
              });
      return field(
          'Target execution (succeeded in this stage)', select,
          'The stage runs again with the source revisions and artifacts of that execution.');
    },
    onSubmit: async (form) => {
      const out = await cp(
          'RollbackStage',
          {pipelineName, stageName, targetPipelineExecutionId: form.elements.target.value});
      showAlert(`Rollback execution ${out.pipelineExecutionId} started`, {kind: 'info'});
      refresh?.();
    },
  });
}

// ---------------------------------------------------------------- execution history

async function pageHistory(ctx, main, name) {
  main.setAttribute('aria-busy', 'true');
  const indicator = h('span', {class: 'live'}, '');
  const body = h('div', {});
  let shown = 25;
  const draw = async () => {
    const summaries = [];
    let nextToken;
    do {
      const out = await cp('ListPipelineExecutions', {
        pipelineName: name,
        maxResults: Math.min(100, shown - summaries.length),
        ...(nextToken ? {nextToken} : {})
      });
      summaries.push(...(out.pipelineExecutionSummaries ?? []));
      nextToken = out.nextToken;
    } while (nextToken && summaries.length < shown);
    if (!ctx.alive()) return;
    rerender(
        body,
        summaries.length === 0 ?
            h('p', {class: 'empty'}, 'No executions yet.') :
            h('div', {class: 'table-wrap', 'data-keep-scroll': 'history'},
              h('table', {class: 'history'},
                h('caption', {class: 'sr-only'}, `Executions of ${name}, newest first`),
                h('thead', {},
                  h('tr', {},
                    [
                      'Status', 'Execution', 'Trigger', 'Source revision', 'Started', 'Duration',
                      'Mode'
                    ].map((c) => h('th', {scope: 'col'}, c)))),
                h('tbody', {},
                  summaries.map(
                      (e) => h(
                          'tr', {}, h('td', {}, badge(e.status)),
                          h('th', {scope: 'row'},
                            link(
                                h('code', {}, shortId(e.pipelineExecutionId)),
                                path('pipelines', name, 'executions', e.pipelineExecutionId),
                                {'aria-label': `Execution ${e.pipelineExecutionId}`})),
                          h('td', {}, trigger(e.trigger),
                            e.stopTrigger?.reason ? h('div', {class: 'muted small-text'},
                                                      'stopped: ', e.stopTrigger.reason) :
                                                    null),
                          h('td', {}, revisions(e.sourceRevisions)), h('td', {}, when(e.startTime)),
                          h('td', {},
                            duration(
                                e.startTime, e.lastUpdateTime,
                                e.status === 'InProgress' || e.status === 'Stopping')),
                          h('td', {}, e.executionMode ?? '',
                            e.executionType === 'ROLLBACK' ? h('span', {class: 'tag'}, 'rollback') :
                                                             null,
                            e.statusSummary ?
                                h('div', {class: 'muted small-text'}, e.statusSummary) :
                                null)))))),
        nextToken ? h('button', {
          type: 'button',
          id: 'load-more',
          onclick: () => {
            shown += 25;
            draw().catch(showError);
          }
        },
                      'Show more executions') :
                    null);
  };
  setPage(
      main, `${name}: executions`, [[name, path('pipelines', name)], ['Executions']],
      h('div', {class: 'page-head'}, h('h1', {}, `Executions of ${name}`), indicator),
      h('div', {class: 'toolbar'},
        link('Back to the workflow', path('pipelines', name), {class: 'button-link'})),
      body);
  await draw();
  live(ctx, name, draw, indicator);
}

// ---------------------------------------------------------------- one execution

async function listActionExecutions(pipelineName, pipelineExecutionId) {
  const all = [];
  let nextToken;
  do {
    const out = await cp('ListActionExecutions', {
      pipelineName,
      filter: {pipelineExecutionId},
      maxResults: 100,
      ...(nextToken ? {nextToken} : {})
    });
    all.push(...(out.actionExecutionDetails ?? []));
    nextToken = out.nextToken;
  } while (nextToken);
  return all;
}

async function pageExecution(ctx, main, name, execId) {
  main.setAttribute('aria-busy', 'true');
  const indicator = h('span', {class: 'live'}, '');
  const body = h('div', {});
  let pipeline = null;
  const draw = async () => {
    const [{pipelineExecution: pe}, actions] = await Promise.all([
      cp('GetPipelineExecution', {pipelineName: name, pipelineExecutionId: execId}),
      listActionExecutions(name, execId),
    ]);
    if (!pipeline || pipeline.version !== pe.pipelineVersion) {
      pipeline = (await cp('GetPipeline', {
                   name,
                   ...(pe.pipelineVersion ? {version: pe.pipelineVersion} : {})
                 })).pipeline;
    }
    if (!ctx.alive()) return;
    const running = pe.status === 'InProgress' || pe.status === 'Stopping';
    const first = actions.map((a) => toDate(a.startTime)?.getTime()).filter(Boolean);
    const last = actions.map((a) => toDate(a.lastUpdateTime)?.getTime()).filter(Boolean);
    rerender(
        body,
        h('dl', {class: 'facts'}, h('dt', {}, 'Status'),
          h('dd', {}, badge(pe.status),
            pe.statusSummary ? h('span', {class: 'muted'}, ' ', pe.statusSummary) : null),
          h('dt', {}, 'Execution ID'), h('dd', {}, h('code', {}, pe.pipelineExecutionId)),
          h('dt', {}, 'Trigger'),
          h('dd', {}, trigger(pe.trigger),
            pe.trigger?.triggerDetail ? h('span', {class: 'muted'}, ' ', pe.trigger.triggerDetail) :
                                        null),
          h('dt', {}, 'Mode'),
          h('dd', {}, pe.executionMode ?? '—', pe.executionType ? ` · ${pe.executionType}` : ''),
          pe.rollbackMetadata?.rollbackTargetPipelineExecutionId ?
              [
                h('dt', {}, 'Rolled back to'),
                h('dd', {},
                  link(
                      shortId(pe.rollbackMetadata.rollbackTargetPipelineExecutionId),
                      path(
                          'pipelines', name, 'executions',
                          pe.rollbackMetadata.rollbackTargetPipelineExecutionId)))
              ] :
              null,
          h('dt', {}, 'Started'), h('dd', {}, first.length ? when(Math.min(...first) / 1000) : '—'),
          h('dt', {}, 'Duration'),
          h('dd', {},
            first.length ? duration(
                               Math.min(...first) / 1000,
                               last.length ? Math.max(...last) / 1000 : null, running) :
                           '—'),
          h('dt', {}, 'Pipeline version'), h('dd', {}, String(pe.pipelineVersion ?? ''))),
        (pe.artifactRevisions ?? []).length ?
            [
              h('h2', {}, 'Source revisions'),
              h('ul', {class: 'plain'},
                pe.artifactRevisions.map(
                    (r) =>
                        h('li', {}, h('strong', {}, r.name), ': ',
                          h('code', {title: r.revisionId}, shortRev(r.revisionId)), ' ',
                          summaryText(r.revisionSummary))))
            ] :
            null,
        (pe.variables ?? []).length ?
            [
              h('h2', {}, 'Variables'),
              kvTable(
                  Object.fromEntries(pe.variables.map((v) => [v.name, v.resolvedValue])),
                  'Pipeline variables')
            ] :
            null,
        h('div', {class: 'toolbar'},
          running ? h('button', {
            type: 'button',
            id: 'stop-execution',
            onclick: () => stopDialog(name, execId, () => draw().catch(showError))
          },
                      '■ Stop execution') :
                    null),
        h('h2', {}, 'Stages'),
        h('section', {
          class: 'workflow',
          'aria-label': 'Stages of this execution',
          'data-keep-scroll': 'exec-workflow'
        },
          pipeline.stages.map(
              (stage, i) => {
                const mine = actions.filter((a) => a.stageName === stage.name);
                const failed = mine.some((a) => a.status === 'Failed' || a.status === 'Abandoned');
                const stageStatus = stageStatusOf(mine);
                return [
                  i > 0 ? h('div', {class: 'transition enabled'},
                            h('span', {class: 'arrow', 'aria-hidden': 'true'}, '➜')) :
                          null,
                  h('section', {
                    class: `stage status-${(STATUS[stageStatus] ?? ['', 'none'])[1]}`,
                    'aria-label': `Stage ${stage.name}`,
                    dataset: {stage: stage.name}
                  },
                    h('div', {class: 'stage-head'}, h('h3', {}, stage.name),
                      badge(stageStatus, 'stage-status')),
                    h('div', {class: 'groups'},
                      groupByRunOrder(stage.actions)
                          .map(
                              ([ro, decls]) => h(
                                  'div',
                                  {class: 'group', role: 'group', 'aria-label': `Run order ${ro}`},
                                  decls.map((d) => {
                                    const tries = mine.filter((a) => a.actionName === d.name)
                                                      .sort(
                                                          (x, y) => (toDate(y.startTime) ?? 0) -
                                                              (toDate(x.startTime) ?? 0));
                                    const a = tries[0];
                                    return h(
                                        'article', {
                                          class: `action status-${
                                              (STATUS[a?.status] ?? ['', 'none'])[1]}`,
                                          'aria-label': `Action ${d.name}`,
                                          dataset: {action: d.name}
                                        },
                                        h('div', {class: 'action-head'},
                                          h('h4', {},
                                            link(
                                                d.name,
                                                path(
                                                    'pipelines', name, 'executions', execId,
                                                    'actions', stage.name, d.name),
                                                {'aria-label': `Details of action ${d.name}`})),
                                          badge(a?.status, 'action-status')),
                                        h('div', {class: 'provider muted'},
                                          `${d.actionTypeId?.category ?? ''} · ${
                                              d.actionTypeId?.provider ?? ''}`),
                                        a ? h('div', {class: 'action-meta'},
                                              duration(
                                                  a.startTime, a.lastUpdateTime,
                                                  a.status === 'InProgress'),
                                              tries.length > 1 ? ` · ${tries.length} attempts` :
                                                                 '') :
                                                                 null,
                                        d.actionTypeId?.category === 'Approval' && a?.updatedBy &&
                                                a.status !== 'InProgress' ?
                                                                 h('div', {class: 'approver'},
                                              a.status === 'Succeeded' ? 'Approved by ' :
                                                                                              'Rejected by ',
                                                                   h('strong', {title: a.updatedBy},
                                                                     principalName(a.updatedBy))) :
                                                                 null,
                                        a?.output?.executionResult?.externalExecutionSummary ?
                                            h('div', {class: 'summary'},
                                              a.output.executionResult.externalExecutionSummary) :
                                            null,
                                        a?.output?.executionResult?.errorDetails?.message ?
                                            h('div', {class: 'error-details'},
                                              a.output.executionResult.errorDetails.message) :
                                            null);
                                  })))),
                    failed && !running ? h('div', {class: 'stage-tools'},
                                           h('button', {
                                             type: 'button',
                                             'aria-label': `Retry failed actions in ${stage.name}`,
                                             onclick: () =>
                                                 act(() => cp('RetryStageExecution', {
                                                       pipelineName: name,
                                                       stageName: stage.name,
                                                       pipelineExecutionId: execId,
                                                       retryMode: 'FAILED_ACTIONS'
                                                     }),
                                                     () => draw().catch(showError))
                                           },
                                             '↻ Retry failed actions'),
                                           h('button', {
                                             type: 'button',
                                             'aria-label': `Retry all actions in ${stage.name}`,
                                             onclick: () =>
                                                 act(() => cp('RetryStageExecution', {
                                                       pipelineName: name,
                                                       stageName: stage.name,
                                                       pipelineExecutionId: execId,
                                                       retryMode: 'ALL_ACTIONS'
                                                     }),
                                                     () => draw().catch(showError))
                                           },
                                             '↻ Retry all actions')) :
                                         null)
                ];
              })));
  };
  setPage(
      main, `Execution ${shortId(execId)}`,
      [
        [name, path('pipelines', name)], ['Executions', path('pipelines', name, 'executions')],
        [shortId(execId)]
      ],
      h('div', {class: 'page-head'}, h('h1', {}, `Execution ${shortId(execId)} of ${name}`),
        indicator),
      body);
  await draw();
  live(ctx, name, draw, indicator);
}

// A stage's status in one execution, from its actions' latest attempts.
function stageStatusOf(actions) {
  if (actions.length === 0) return null;
  const latest = new Map();
  for (const a of actions) {
    const prev = latest.get(a.actionName);
    if (!prev || (toDate(a.startTime) ?? 0) > (toDate(prev.startTime) ?? 0))
      latest.set(a.actionName, a);
  }
  const s = [...latest.values()].map((a) => a.status);
  if (s.includes('InProgress')) return 'InProgress';
  if (s.includes('Failed')) return 'Failed';
  if (s.includes('Abandoned')) return 'Stopped';
  return 'Succeeded';
}

function kvTable(map, caption) {
  const entries = Object.entries(map ?? {});
  if (entries.length === 0) return h('p', {class: 'muted'}, 'None');
  return h(
      'div', {class: 'table-wrap'},
      h('table', {class: 'kv'}, h('caption', {class: 'sr-only'}, caption),
        h('tbody', {},
          entries.map(
              ([k, v]) =>
                  h('tr', {}, h('th', {scope: 'row'}, k),
                    h('td', {},
                      h('code', {class: 'value'},
                        typeof v === 'string' ? v : JSON.stringify(v))))))));
}
function artifactList(list) {
  if (!list || list.length === 0) return h('p', {class: 'muted'}, 'None');
  return h(
      'ul', {class: 'plain'},
      list.map(
          (a) =>
              h('li', {}, h('strong', {}, a.name),
                a.s3location ?
                    [' ', h('code', {}, `s3://${a.s3location.bucket}/${a.s3location.key}`)] :
                    null)));
}

// ---------------------------------------------------------------- one action

async function pageAction(ctx, main, name, execId, stageName, actionName) {
  main.setAttribute('aria-busy', 'true');
  const indicator = h('span', {class: 'live'}, '');
  const details = h('div', {});
  const extra = h('div', {});
  const logBox = h('pre', {
    class: 'log',
    role: 'log',
    'aria-label': `Log of ${actionName}`,
    tabindex: '0',
    'aria-live': 'off'
  });
  const logStatus = h('p', {class: 'log-status muted'});
  let logFor = null;  // the action execution whose log is shown
  let follow = null;
  let nextSeq = 1;

  const appendLines = (lines) => {
    const atBottom = logBox.scrollTop + logBox.clientHeight >= logBox.scrollHeight - 4;
    const frag = document.createDocumentFragment();
    for (const l of lines ?? []) {
      if (l.seq != null && l.seq < nextSeq) continue;  // resent after a reconnect
      frag.append(h('span', {class: 'line', dataset: {seq: String(l.seq)}}, l.text ?? ''), '\n');
      if (l.seq != null) nextSeq = l.seq + 1;
    }
    logBox.append(frag);
    if (atBottom) logBox.scrollTop = logBox.scrollHeight;
  };
  const stopFollow = () => {
    follow?.close();
    follow = null;
  };
  ctx.onLeave(stopFollow);

  const showLog = async (a) => {
    if (logFor === a.actionExecutionId) return;  // already shown (and followed while it runs)
    stopFollow();
    logFor = a.actionExecutionId;
    nextSeq = 1;  // sequence numbers start at 1
    logBox.replaceChildren();
    logStatus.textContent = '';
    const url = `logs/${encodeURIComponent(a.actionExecutionId)}`;
    if (a.status === 'InProgress') {
      logStatus.textContent = 'Following the log as it is written…';
      follow = new EventSource(`${url}?follow=1&from=1`);
      follow.addEventListener('lines', (ev) => {
        try {
          const d = JSON.parse(ev.data);
          appendLines(d.lines);
        } catch (e) {
          logStatus.textContent = `The log stream sent something unreadable: ${e.message}`;
        }
      });
      follow.addEventListener('end', (ev) => {
        let status = '';
        try {
          status = JSON.parse(ev.data).status ?? '';
        } catch {
          /* the status is only shown */
        }
        logStatus.textContent = `The action ended${status ? `: ${statusWord(status)}` : ''}.`;
        stopFollow();
      });
      follow.onerror = () => {
        if (follow?.readyState === EventSource.CLOSED) {
          logStatus.textContent = 'The log stream was closed by the server.';
          stopFollow();
        }
      };
      return;
    }
    // Ended: read it all, page by page.
    for (;;) {
      const res = await fetch(`${url}?from=${nextSeq}&limit=10000`, {credentials: 'same-origin'});
      const data = await readJson(res, 'log');
      if (res.status === 401) {
        sessionEnded();
        return;
      }
      if (!res.ok) {
        logStatus.textContent = `No log: ${data.message ?? `HTTP ${res.status}`}`;
        return;
      }
      if (!ctx.alive() || logFor !== a.actionExecutionId) return;
      appendLines(data.lines);
      if (!data.lines?.length || data.lines.length < 10000) break;
    }
    if (nextSeq === 1 && logBox.childElementCount === 0)
      logStatus.textContent = 'This action wrote no log.';
  };

  const draw = async () => {
    const [all, state] =
        await Promise.all([listActionExecutions(name, execId), cp('GetPipelineState', {name})]);
    if (!ctx.alive()) return;
    const tries = all.filter((a) => a.stageName === stageName && a.actionName === actionName)
                      .sort((x, y) => (toDate(y.startTime) ?? 0) - (toDate(x.startTime) ?? 0));
    const a = tries[0];
    if (!a) {
      rerender(
          details,
          h('p', {class: 'empty'},
            `Action ${stageName}/${actionName} has not run in execution ${execId}.`));
      return;
    }
    const inp = a.input ?? {};
    const out = a.output ?? {};
    const res = out.executionResult ?? {};
    const type = inp.actionTypeId ?? {};
    const stageState = (state.stageStates ?? []).find((s) => s.stageName === stageName);
    const as = stageState?.actionStates?.find((x) => x.actionName === actionName);
    const le = as?.latestExecution?.actionExecutionId === a.actionExecutionId ? as.latestExecution :
                                                                                null;
    rerender(
        details,
        h('dl', {class: 'facts'}, h('dt', {}, 'Status'),
          h('dd', {}, badge(a.status, 'action-status')), h('dt', {}, 'Action type'),
          h('dd', {},
            `${type.category ?? ''} · ${type.owner ?? ''} · ${type.provider ?? ''} · ${
                type.version ?? ''}`),
          h('dt', {}, 'Started'), h('dd', {}, when(a.startTime)), h('dt', {}, 'Duration'),
          h('dd', {}, duration(a.startTime, a.lastUpdateTime, a.status === 'InProgress') ?? '—'),
          a.updatedBy ?
              [
                h('dt', {}, 'Updated by'), h('dd', {title: a.updatedBy}, principalName(a.updatedBy))
              ] :
              null,
          h('dt', {}, 'Action execution ID'), h('dd', {}, h('code', {}, a.actionExecutionId)),
          h('dt', {}, 'Pipeline execution'),
          h('dd', {},
            link(
                h('code', {}, shortId(execId)), path('pipelines', name, 'executions', execId),
                {'aria-label': `Execution ${execId}`})),
          inp.namespace ? [h('dt', {}, 'Namespace'), h('dd', {}, h('code', {}, inp.namespace))] :
                          null,
          inp.roleArn ? [h('dt', {}, 'Role'), h('dd', {}, h('code', {}, inp.roleArn))] : null,
          inp.region ? [h('dt', {}, 'Region'), h('dd', {}, inp.region)] : null,
          tries.length > 1 ? [h('dt', {}, 'Attempts'), h('dd', {}, String(tries.length))] : null),
        res.externalExecutionSummary ? h('p', {class: 'summary'}, res.externalExecutionSummary) :
                                       null,
        res.errorDetails?.message ?
            h('p', {class: 'error-details'},
              `${res.errorDetails.code ? res.errorDetails.code + ': ' : ''}${
                  res.errorDetails.message}`) :
            null,
        res.externalExecutionUrl ? h('p', {},
                                     link(
                                         'External details', res.externalExecutionUrl,
                                         {rel: 'noopener', target: '_blank'})) :
                                   null,
        type.category === 'Approval' && le ?
            approvalPanel(
                name, stageName, {name: actionName, configuration: inp.configuration}, le, a,
                () => draw().catch(showError)) :
            null,
        h('div', {class: 'columns'},
          h('section', {'aria-label': 'Configuration'}, h('h2', {}, 'Configuration (resolved)'),
            kvTable(inp.resolvedConfiguration ?? inp.configuration, 'Configuration')),
          h('section', {'aria-label': 'Output variables'}, h('h2', {}, 'Output variables'),
            kvTable(out.outputVariables, 'Output variables'))),
        h('div', {class: 'columns'},
          h('section', {'aria-label': 'Input artifacts'}, h('h2', {}, 'Input artifacts'),
            artifactList(inp.inputArtifacts)),
          h('section', {'aria-label': 'Output artifacts'}, h('h2', {}, 'Output artifacts'),
            artifactList(out.outputArtifacts))));
    await showLog(a);
    // A build's phases; a deploy's targets and lifecycle events.
    const more = [];
    try {
      if (type.provider === 'CodeBuild' && res.externalExecutionId)
        more.push(await buildPhases(res.externalExecutionId));
      if (type.category === 'Deploy') more.push(await deployTargets(name, a.actionExecutionId));
    } catch (e) {
      if (e.status !== 401) more.push(h('p', {class: 'inline-error', role: 'alert'}, e.message));
    }
    if (ctx.alive()) rerender(extra, more);
  };
  setPage(
      main, `${stageName}/${actionName}`,
      [
        [name, path('pipelines', name)], ['Executions', path('pipelines', name, 'executions')],
        [shortId(execId), path('pipelines', name, 'executions', execId)],
        [`${stageName} / ${actionName}`]
      ],
      h('div', {class: 'page-head'}, h('h1', {}, `${stageName} / ${actionName}`), indicator),
      details, extra,
      h('section', {'aria-label': 'Log', class: 'log-section'}, h('h2', {}, 'Log'), logStatus,
        logBox));
  await draw();
  live(ctx, name, draw, indicator);
}

async function buildPhases(buildId) {
  const out = await call('codebuild', 'BatchGetBuilds', {ids: [buildId]});
  const b = out.builds?.[0];
  if (!b) return h('p', {class: 'muted'}, `Build ${buildId} was not found.`);
  return h(
      'section', {'aria-label': 'Build phases'}, h('h2', {}, 'Build phases'),
      h('p', {class: 'muted'}, 'Build ', h('code', {}, b.id), ' · ',
        badge(buildStatus(b.buildStatus))),
      h('div', {class: 'table-wrap'},
        h('table', {class: 'phases'}, h('caption', {class: 'sr-only'}, 'Build phases'),
          h('thead', {},
            h('tr', {},
              ['Phase', 'Status', 'Duration', 'Context'].map((c) => h('th', {scope: 'col'}, c)))),
          h('tbody', {},
            (b.phases ?? [])
                .map(
                    (p) => h(
                        'tr', {}, h('th', {scope: 'row'}, p.phaseType),
                        h('td', {},
                          p.phaseStatus ? badge(buildStatus(p.phaseStatus)) : badge('InProgress')),
                        h('td', {},
                          p.durationInSeconds != null ?
                              fmtDuration(p.durationInSeconds * 1000) :
                              duration(p.startTime, p.endTime, !p.endTime)),
                        h('td', {},
                          (p.contexts ?? [])
                              .map((c) => [c.statusCode, c.message].filter(Boolean).join(': '))
                              .join('; '))))))));
}
// CodeBuild's SUCCEEDED / FAILED / IN_PROGRESS ... as the console's words.
function buildStatus(s) {
  return {
    SUCCEEDED: 'Succeeded',
    FAILED: 'Failed',
    FAULT: 'Failed',
    TIMED_OUT: 'Failed',
    IN_PROGRESS: 'InProgress',
    STOPPED: 'Stopped'
  }[s] ??
      s;
}

async function deployTargets(pipelineName, actionExecutionId) {
  const out = await cp('ListDeployActionExecutionTargets', {pipelineName, actionExecutionId});
  const targets = out.targets ?? [];
  return h(
      'section', {'aria-label': 'Deploy targets'}, h('h2', {}, 'Deploy targets'),
      targets.length === 0 ?
          h('p', {class: 'muted'}, 'This deploy has no targets.') :
          targets.map(
              (t) =>
                  h('div', {class: 'target'},
                    h('h3', {}, t.targetId, ' ', h('span', {class: 'muted'}, t.targetType ?? ''),
                      ' ', badge(t.status)),
                    h('div', {class: 'table-wrap'},
                      h('table', {class: 'events'},
                        h('caption', {class: 'sr-only'}, `Lifecycle events of ${t.targetId}`),
                        h('thead', {},
                          h('tr', {},
                            ['Lifecycle event', 'Status', 'Duration', 'Message'].map(
                                (c) => h('th', {scope: 'col'}, c)))),
                        h('tbody', {},
                          (t.events ?? [])
                              .map(
                                  (e) =>
                                      h('tr', {}, h('th', {scope: 'row'}, e.name),
                                        h('td', {}, badge(e.status)),
                                        h('td', {}, duration(e.startTime, e.endTime, false) ?? ''),
                                        h('td', {}, e.context?.message ?? '')))))))));
}

// ---------------------------------------------------------------- start

async function start() {
  try {
    session = await getSession();
  } catch (e) {
    showError(e);
  }
  renderWho();
  window.addEventListener('hashchange', route);
  await route();
}
start();
