// Lifeboat's dashboard: one page that reads the controller's /api/v1 JSON (docs/openapi.yaml)
// and acts through its POSTs, with the operator's token in an Authorization header (kept in this
// tab's sessionStorage only; no cookie, so no other site can act in the operator's name).
// Everything shown is built with DOM nodes and text, never parsed as HTML: hostnames, labels and
// error texts come from machines.
'use strict';

const ROLES = ['viewer', 'operator', 'admin'];
const REFRESH_MS = 2000;
const state = {
  token: sessionStorage.getItem('lifeboat.token') || '',
  session: null,        // {name, role} of the token, from /api/v1/session
  timer: 0,             // the next refresh of the page shown
  view: 0,              // counts renders, so that a slow answer for a page left is dropped
  recoveryNetwork: false,
};

// ---- building blocks ----

function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (key === 'class') node.className = value;
    // Through the CSSOM: a style attribute would break the page's Content-Security-Policy.
    else if (key === 'style') Object.assign(node.style, value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const badge = (word) => h('span', { class: 'badge ' + String(word || '').replace(/[^a-z_]/g, '') }, word || '—');
const link = (href, text) => h('a', { href }, text);
const machineLink = (id) => link('#/machines/' + encodeURIComponent(id), id);
const rolloutLink = (id) => link('#/rollouts/' + id, 'rollout ' + id);

function table(headers, rows, empty) {
  if (!rows.length) return h('p', { class: 'muted' }, empty || 'Nothing to show.');
  return h('table', {},
    h('thead', {}, h('tr', {}, headers.map((x) => h('th', { class: x.startsWith('#') ? 'num' : '' }, x.replace(/^#/, ''))))),
    h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((c, i) =>
      h('td', { class: headers[i].startsWith('#') ? 'num' : '' }, c))))));
}

function kv(pairs) {
  return h('dl', { class: 'kv' }, pairs.filter((p) => p).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v === '' || v === undefined || v === null ? '—' : v)]));
}

function bytes(n) {
  n = Number(n || 0);
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return (i ? n.toFixed(1) : n) + ' ' + units[i];
}

function ago(rfc3339) {
  if (!rfc3339) return 'never';
  const s = Math.round((Date.now() - Date.parse(rfc3339)) / 1000);
  if (!isFinite(s)) return rfc3339;
  const text = s < 90 ? s + ' s' : s < 5400 ? Math.round(s / 60) + ' min' : s < 172800 ? Math.round(s / 3600) + ' h' : Math.round(s / 86400) + ' days';
  return h('span', { title: rfc3339 }, s < 0 ? rfc3339 : text + ' ago');
}

// A progress bar and its words: succeeded, failed, in progress, skipped out of targeted.
function progress(p) {
  const total = p.targeted || 0;
  const part = (key) => (total ? (100 * (p[key] || 0)) / total : 0);
  return h('div', {},
    h('div', { class: 'bar', title: `${p.succeeded || 0} succeeded, ${p.failed || 0} failed, ${p.in_progress || 0} in progress, ${p.pending || 0} pending, ${p.skipped || 0} skipped of ${total}` },
      ['succeeded', 'failed', 'in_progress', 'skipped'].map((k) => h('span', { class: k, style: { width: part(k) + '%' } }))),
    h('span', { class: 'muted progress-words' },
      `${p.succeeded || 0} succeeded · ${p.failed || 0} failed · ${p.in_progress || 0} in progress · ${p.pending || 0} pending` +
      (p.skipped ? ` · ${p.skipped} skipped` : '') + ` of ${total}`));
}

function jobText(spec) {
  const job = (spec && spec.job) || {};
  if (job.kind === 'winre_grow')
    return 'WinRE grow to ' + (job.winre_free_bytes ? bytes(job.winre_free_bytes) + ' free' : bytes(job.winre_size_bytes));
  if (job.kind === 'remove') return 'remove Lifeboat' + (job.reclaim ? ' (room to ' + job.reclaim + ')' : '');
  return 'install ' + (spec.image_version || '?');
}

// ---- talking to the controller ----

class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || (body && body.message) || 'HTTP ' + status);
    this.status = status;
    this.code = e.code;
  }
}

async function api(path, options = {}) {
  const headers = { Authorization: 'Bearer ' + state.token };
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, {
    method: options.method || 'GET', headers, cache: 'no-store',
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = { message: text }; }
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

function showBanner(text, kind) {
  const banner = document.getElementById('banner');
  banner.className = kind || '';
  banner.textContent = text;
  banner.hidden = !text;
}

const can = (role) => state.session && ROLES.indexOf(state.session.role) >= ROLES.indexOf(role);

// A button for an operator's action. A viewer sees it disabled, saying why; the controller
// refuses the action to a viewer anyway (and records the refusal).
function actionButton(label, enabled, run, danger) {
  const allowed = can('operator');
  return h('button', {
    class: danger ? 'danger' : '',
    disabled: !allowed || !enabled,
    title: allowed ? '' : `Your role (${state.session.role}) cannot act; an operator can.`,
    onclick: async (event) => {
      event.target.disabled = true;
      try {
        await run();
        showBanner(label + ': done.', 'info');
      } catch (e) {
        showBanner(label + ' refused: ' + e.message);
      }
      render();
    },
  }, label);
}

// ---- views ----

async function fleetView() {
  const [fleet, images, pending, rollouts] = await Promise.all([
    api('/api/v1/fleet'), api('/api/v1/images'), api('/api/v1/pending'), api('/api/v1/rollouts')]);
  const byState = fleet.by_state || {};
  const byVersion = fleet.by_version || {};
  const open = (rollouts.rollouts || []).filter((r) => ['active', 'paused', 'halted'].includes(r.state));
  return [
    h('h1', {}, 'Fleet'),
    h('div', { class: 'cards' },
      card('Machines', fleet.machines || 0, '#/machines'),
      card('Failing', byState.failed || 0, '#/machines?state=failed'),
      card('Offline', fleet.offline || 0, '#/machines?offline=true'),
      card('Pending acceptance', (pending.machines || []).length, '#/'),
      card('Open rollouts', open.length, '#/rollouts')),
    h('h2', {}, 'By state'),
    table(['State', '#Machines'], Object.entries(byState).map(([s, n]) => [
      link('#/machines?state=' + encodeURIComponent(s), s), n])),
    h('h2', {}, 'By installed version'),
    table(['Version', '#Machines'], Object.entries(byVersion).map(([v, n]) => [
      link('#/machines?version=' + encodeURIComponent(v), v || '(nothing installed)'), n])),
    open.length ? [h('h2', {}, 'Open rollouts'), rolloutTable(open)] : null,
    h('h2', {}, 'Pending acceptance'),
    table(['Id', 'Computer name', 'First seen', 'Last seen', '#Visits', 'From'],
      (pending.machines || []).map((m) => [h('span', { class: 'mono' }, m.id), m.computer_name, ago(m.first_seen), ago(m.last_seen), m.visits, m.peer]),
      'No machine is waiting to be accepted (lifeboatctl machine accept).'),
    h('h2', {}, 'Images'),
    imagesTable(images.images || []),
  ];
}

function card(title, n, href) {
  return h('div', { class: 'card' }, h('a', { href }, h('span', { class: 'n' }, n), title));
}

function imagesTable(images) {
  const today = new Date().toISOString().slice(0, 10);
  return table(['Version', 'Name', 'Architecture', '#Size', 'Published', 'Expires', 'Signature', 'Contents'],
    images.map((i) => [
      h('strong', {}, i.version), i.name, i.architecture, bytes(i.size_bytes), ago(i.published_at),
      i.expires ? (i.expires < today ? badge('expired ' + i.expires) : i.expires) : 'never',
      i.signature ? h('span', { title: i.signature.manifest }, 'signed, key ', h('code', {}, i.signature.key_id)) : badge('unsigned'),
      contents(i.contents),
    ]), 'No image is published (lifeboatctl image publish).');
}

function contents(c) {
  if (!c) return h('span', { class: 'muted' }, 'not built by lifeboatctl image build');
  const drivers = c.drivers || [];
  const tools = c.tools || [];
  return h('details', {},
    h('summary', {}, `${tools.length} tools, ${drivers.length} drivers, ${(c.files || []).length} other files`),
    tools.length ? [h('strong', {}, 'Tools'), h('ul', {}, tools.map((t) => h('li', { class: 'mono' }, t)))] : null,
    drivers.length ? [h('strong', {}, 'Drivers'), h('ul', {}, drivers.map((d) => h('li', {}, h('span', { class: 'mono' }, d.inf), ' ', d.driver_class || '', ' ', (d.architectures || []).join(', '))))] : null,
    c.startup_run ? h('p', {}, 'Starts: ', h('code', {}, c.startup_run)) : null);
}

function rolloutTable(rollouts) {
  return table(['Rollout', 'Job', 'State', 'Wave', 'Progress', 'Created'],
    rollouts.map((r) => [
      rolloutLink(r.id), jobText(r.spec), badge(r.state),
      `${(r.progress && r.progress.current_wave) || 1} of ${Math.max(1, (r.spec.waves || []).length)}`,
      progress(r.progress || {}), ago(r.created_at)]),
    'No rollout yet (lifeboatctl rollout create).');
}

async function rolloutsView() {
  const list = await api('/api/v1/rollouts');
  return [h('h1', {}, 'Rollouts'), rolloutTable((list.rollouts || []).slice().reverse())];
}

async function rolloutView(id, query) {
  const pageToken = query.get('page_token') || '';
  const [got, members] = await Promise.all([
    api('/api/v1/rollouts/' + id),
    api(`/api/v1/rollouts/${id}/machines?page_size=200` + (pageToken ? '&page_token=' + encodeURIComponent(pageToken) : ''))]);
  const r = got.rollout;
  const open = ['active', 'paused', 'halted'].includes(r.state);
  const act = (verb) => () => api(`/api/v1/rollouts/${id}/${verb}`, { method: 'POST' });
  const spec = r.spec || {};
  const selector = spec.selector || {};
  return {
    refresh: open,
    nodes: [
      h('h1', {}, `Rollout ${r.id}: ${jobText(spec)} `, badge(r.state)),
      r.message ? h('p', { class: 'error' }, r.message) : null,
      h('div', { class: 'actions' },
        actionButton('Pause', r.state === 'active', act('pause')),
        actionButton('Resume', r.state === 'paused' || r.state === 'halted', act('resume')),
        actionButton('Abort', open, act('abort'), true),
        actionButton('Roll back', ((r.progress && r.progress.succeeded) || 0) > 0, act('rollback'), true)),
      progress(r.progress || {}),
      h('h2', {}, 'Waves'),
      table(['Wave', '#Machines', 'Progress'], (members.waves || []).map((w, i) => [
        String(i + 1) + ((r.progress.current_wave || 1) === i + 1 && open ? ' (open)' : ''), w.targeted, progress(w)])),
      h('h2', {}, 'Machines'),
      table(['Machine', '#Wave', 'State', '#Attempts', 'Finished', 'Had before'],
        (members.machines || []).map((m) => [
          machineLink(m.machine_id), m.wave, m.skipped && m.state === 'pending' ? badge('skipped') : badge(m.state),
          m.attempts, m.finished_at ? ago(m.finished_at) : '', m.previous_version || '']),
        'No machine.'),
      pager(`#/rollouts/${id}`, members.next_page_token, pageToken),
      h('h2', {}, 'Settings'),
      kv([
        ['Created', r.created_at],
        ['Selects', selector.all ? 'every machine' : [
          Object.entries(selector.labels || {}).map(([k, v]) => k + '=' + v).join(', '),
          (selector.machine_ids || []).length ? `${selector.machine_ids.length} machines by id` : ''].filter((x) => x).join('; ')],
        ['Waves', (spec.waves || []).map((w) => (w.percent ? w.percent + ' %' : w.count)).join(', ') || '100 %'],
        ['At most in progress', spec.max_in_progress || 'no cap'],
        ['Halts above', (spec.failure_threshold_percent ?? 10) + ' % failed in a wave'],
        ['Retries per machine', spec.max_retries || 0],
        r.rollback_of ? ['Rolls back', rolloutLink(r.rollback_of)] : null,
      ]),
    ],
  };
}

function pager(base, next, current) {
  return h('div', { class: 'pager' },
    current ? link(base, 'First page') : null,
    next ? link(base + (base.includes('?') ? '&' : '?') + 'page_token=' + encodeURIComponent(next), 'Next page') : null);
}

async function machinesView(query) {
  const params = new URLSearchParams();
  for (const key of ['version', 'state', 'offline', 'label', 'page_token']) {
    for (const value of query.getAll(key)) if (value !== '' || key === 'version') params.append(key, value);
  }
  if (query.has('version') && query.get('version') === '') params.set('version', '');
  params.set('page_size', '100');
  const page = await api('/api/v1/machines?' + params.toString());
  const filters = new URLSearchParams(params);
  filters.delete('page_token');
  filters.delete('page_size');
  const field = (name, label, input) => h('label', {}, label, input);
  const form = h('form', {
    class: 'filters', onsubmit: (event) => {
      event.preventDefault();
      const data = new URLSearchParams();
      for (const [k, v] of new FormData(event.target)) if (v !== '' && k !== 'noversion') data.append(k, v);
      // "Nothing installed" is the version filter with an empty value.
      if (event.target.noversion.checked) data.set('version', '');
      location.hash = '#/machines' + (data.toString() ? '?' + data : '');
    },
  },
  field('version', 'Installed version', h('input', { name: 'version', value: query.get('version') || '', size: 8 })),
  h('label', {}, 'Nothing installed', h('input', { type: 'checkbox', name: 'noversion', checked: query.has('version') && query.get('version') === '' })),
  field('state', 'State', h('select', { name: 'state' }, ['', 'idle', 'downloading', 'applying', 'failed'].map((s) =>
    h('option', { value: s, selected: (query.get('state') || '') === s }, s || 'any')))),
  field('offline', 'Contact', h('select', { name: 'offline' }, [['', 'any'], ['true', 'offline'], ['false', 'online']].map(([v, t]) =>
    h('option', { value: v, selected: (query.get('offline') || '') === v }, t)))),
  field('label', 'Label (key=value)', h('input', { name: 'label', value: query.get('label') || '', size: 14 })),
  h('button', { type: 'submit' }, 'Filter'),
  h('button', { type: 'button', onclick: () => downloadCsv(filters) }, 'Export CSV'));
  return [
    h('h1', {}, 'Machines'), form,
    h('p', { class: 'muted' }, `${page.total_size || 0} machines match.`),
    table(['Machine', 'Hostname', 'Installed', 'State', 'Step', 'Last contact', 'Labels'],
      (page.machines || []).map((m) => [
        machineLink(m.id), m.hostname, m.installed_version || '—',
        [badge(m.state), m.offline ? [' ', badge('offline')] : null, m.boot_recovery_pending ? [' ', badge('recovery boot asked')] : null],
        m.current_step, ago(m.last_seen),
        Object.entries(m.labels || {}).map(([k, v]) => k + '=' + v).join(', ')]),
      'No machine matches.'),
    pager('#/machines' + (filters.toString() ? '?' + filters : ''), page.next_page_token, query.get('page_token')),
  ];
}

async function downloadCsv(filters) {
  try {
    const response = await fetch('/api/v1/machines.csv?' + filters.toString(), { headers: { Authorization: 'Bearer ' + state.token } });
    if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
    const url = URL.createObjectURL(await response.blob());
    const a = h('a', { href: url, download: 'machines.csv' });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (e) {
    showBanner('CSV export failed: ' + e.message);
  }
}

// Any JSON value as nested lists: the inventory's shape is the agent's, and grows.
function tree(value) {
  if (Array.isArray(value)) return value.length ? h('ol', {}, value.map((v) => h('li', {}, tree(v)))) : '—';
  if (value && typeof value === 'object')
    return kv(Object.entries(value).map(([k, v]) => [k.replace(/_/g, ' '), tree(v)]));
  return value === null || value === undefined || value === '' ? '—' : String(value);
}

async function machineView(id) {
  const got = await api('/api/v1/machines/' + encodeURIComponent(id));
  const m = got.machine;
  const identity = m.identity || {};
  const network = h('input', {
    type: 'checkbox', id: 'recovery-network', checked: state.recoveryNetwork,
    onchange: (event) => { state.recoveryNetwork = event.target.checked; },
  });
  return {
    refresh: true,
    nodes: [
      h('h1', {}, `Machine ${m.id} `, badge(m.state), m.offline ? [' ', badge('offline')] : null),
      h('div', { class: 'actions' },
        actionButton('Boot into recovery', true,
          () => api(`/api/v1/machines/${encodeURIComponent(m.id)}/boot-recovery`, { method: 'POST', body: { network: network.checked } })),
        h('label', {}, network, ' at its next network boot, from the controller'),
        m.boot_recovery_pending ? h('span', { class: 'badge warn' }, 'its next boot starts Lifeboat (asked, not yet done)') : null),
      kv([
        ['Hostname', m.hostname],
        ['Installed version', m.installed_version || 'nothing'],
        ['State', [badge(m.state), m.current_step ? ' ' + m.current_step : '']],
        ['Last contact', ago(m.last_seen)],
        ['Registered', m.registered_at],
        ['Labels', Object.entries(m.labels || {}).map(([k, v]) => k + '=' + v).join(', ')],
        ['SMBIOS UUID', identity.smbios_uuid],
        ['Network adapters', (identity.macs || []).join(', ')],
      ]),
      h('h2', {}, 'Attempts'),
      (got.attempts || []).length ? got.attempts.map(attempt) : h('p', { class: 'muted' }, 'No rollout has reached this machine.'),
      h('h2', {}, 'Inventory'),
      m.inventory ? tree(m.inventory) : h('p', { class: 'muted' }, 'Not reported yet.'),
    ],
  };
}

function attempt(a) {
  return h('div', { class: 'attempt' },
    h('div', {}, h('strong', {}, `Attempt ${a.id}`), ' of ', rolloutLink(a.rollout_id), ': ',
      a.job && a.job.kind && a.job.kind !== 'install' ? jobText({ job: a.job }) : 'install ' + a.image_version, ' ', badge(a.state),
      h('span', { class: 'muted' }, ` started ${a.started_at || '—'}`, a.finished_at ? `, finished ${a.finished_at}` : '')),
    a.error ? h('p', { class: 'error' }, a.error) : null,
    table(['#', 'Step', 'Status', 'Progress', 'Message', 'At'],
      (a.events || []).map((e) => [
        e.sequence, e.step, badge(e.status),
        e.bytes_total ? `${bytes(e.bytes_done)} of ${bytes(e.bytes_total)}` : '',
        h('span', { class: e.status === 'failed' ? 'error' : '' }, e.message || ''), e.at]),
      'No step reported yet.'));
}

async function auditView(query) {
  const params = new URLSearchParams();
  for (const key of ['who', 'action', 'outcome', 'page_token']) if (query.get(key)) params.set(key, query.get(key));
  params.set('page_size', '100');
  const page = await api('/api/v1/audit?' + params.toString());
  const filters = new URLSearchParams(params);
  filters.delete('page_token');
  filters.delete('page_size');
  const input = (name, label) => h('label', {}, label, h('input', { name, value: query.get(name) || '', size: 16 }));
  return [
    h('h1', {}, 'Audit log'),
    h('form', {
      class: 'filters', onsubmit: (event) => {
        event.preventDefault();
        const data = new URLSearchParams();
        for (const [k, v] of new FormData(event.target)) if (v) data.append(k, v);
        location.hash = '#/audit' + (data.toString() ? '?' + data : '');
      },
    }, input('who', 'Who'), input('action', 'Action (PauseRollout, …)'),
    h('label', {}, 'Outcome', h('select', { name: 'outcome' }, ['', 'ok', 'denied', 'failed'].map((o) =>
      h('option', { value: o, selected: (query.get('outcome') || '') === o }, o || 'any')))),
    h('button', { type: 'submit' }, 'Filter')),
    table(['When', 'Who', 'Action', 'Target', 'Outcome', 'Detail', 'From'],
      (page.entries || []).map((e) => [e.at, e.who || '(unknown token)', e.action, e.target, badge(e.outcome), e.detail, e.peer]),
      'No entry matches.'),
    pager('#/audit' + (filters.toString() ? '?' + filters : ''), page.next_page_token, query.get('page_token')),
  ];
}

function signInView(message) {
  const token = h('input', { type: 'password', name: 'token', autocomplete: 'off', required: true, 'aria-label': 'operator token' });
  return [h('form', {
    class: 'signin', onsubmit: async (event) => {
      event.preventDefault();
      state.token = token.value.trim();
      try {
        state.session = await api('/api/v1/session');
        sessionStorage.setItem('lifeboat.token', state.token);
        showBanner('');
        if (location.hash.startsWith('#/signin')) location.hash = '#/';
        else render();
      } catch (e) {
        state.token = '';
        showBanner(e.status === 401 ? 'That token is not known to this controller.' : 'Sign-in failed: ' + e.message);
      }
    },
  },
  h('h1', {}, 'Sign in'),
  h('p', {}, message || 'With an operator token: lifeboatctl operator add NAME --role viewer|operator|admin prints one; the first admin\u2019s is in the controller\u2019s data folder (admin.token).'),
  token, h('button', { type: 'submit' }, 'Sign in'))];
}

// ---- the page ----

function showSession() {
  const who = document.getElementById('who');
  who.replaceChildren();
  document.getElementById('nav').hidden = !state.session;
  document.getElementById('nav-audit').hidden = !can('admin');
  if (!state.session) return;
  who.append(`${state.session.name} (${state.session.role})`, h('button', {
    onclick: () => {
      sessionStorage.removeItem('lifeboat.token');
      state.token = '';
      state.session = null;
      showBanner('');
      location.hash = '#/signin';
      render();
    },
  }, 'Sign out'));
}

async function render() {
  clearTimeout(state.timer);
  const view = ++state.view;
  const main = document.getElementById('main');
  const [path, search] = (location.hash.slice(1) || '/').split('?');
  const query = new URLSearchParams(search || '');
  for (const a of document.querySelectorAll('header nav a'))
    a.classList.toggle('current', a.getAttribute('href') === '#' + path || (path.startsWith(a.getAttribute('href').slice(1)) && a.getAttribute('href') !== '#/'));
  try {
    if (!state.session && state.token) state.session = await api('/api/v1/session');
  } catch (e) {
    state.token = '';
    sessionStorage.removeItem('lifeboat.token');
  }
  showSession();
  if (!state.session) {
    main.replaceChildren(...signInView().flat());
    return;
  }
  let result;
  try {
    const parts = path.split('/').filter((x) => x);
    if (parts[0] === 'rollouts' && parts[1]) result = await rolloutView(Number(parts[1]), query);
    else if (parts[0] === 'rollouts') result = await rolloutsView();
    else if (parts[0] === 'machines' && parts[1]) result = await machineView(decodeURIComponent(parts.slice(1).join('/')));
    else if (parts[0] === 'machines') result = await machinesView(query);
    else if (parts[0] === 'audit') result = await auditView(query);
    else result = { nodes: await fleetView(), refresh: true };
  } catch (e) {
    if (view !== state.view) return;
    if (e.status === 401) {
      state.session = null;
      state.token = '';
      sessionStorage.removeItem('lifeboat.token');
      showSession();
      main.replaceChildren(...signInView('Your token is no longer accepted; sign in again.').flat());
      return;
    }
    main.replaceChildren(h('h1', {}, 'Cannot show this page'), h('p', { class: 'error' }, e.message));
    return;
  }
  if (view !== state.view) return;  // the operator went elsewhere meanwhile
  const nodes = Array.isArray(result) ? result : result.nodes;
  main.replaceChildren(...nodes.flat(Infinity).filter((n) => n !== null && n !== undefined && n !== false));
  main.dataset.loaded = String(view);
  // Pages that change by themselves are read again, unless the operator is typing in a field.
  if (!Array.isArray(result) && result.refresh) {
    const again = () => {
      if (document.activeElement && document.activeElement.matches('input:not([type=checkbox]), select'))
        state.timer = setTimeout(again, REFRESH_MS);
      else render();
    };
    state.timer = setTimeout(again, REFRESH_MS);
  }
}

window.addEventListener('hashchange', () => { showBanner(''); render(); });
render();
