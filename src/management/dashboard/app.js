// Warren's dashboard: RabbitMQ's management UI for what a developer looks at, in plain browser
// JavaScript over the management API (no build step), charts by uPlot.
'use strict';

const state = { auth: sessionStorage.getItem('warren-auth'), timer: undefined, charts: [] };
const main = document.getElementById('main');

// ---- the API ----

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: { authorization: `Basic ${state.auth}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401) {
    showLogin('The user or password was not accepted (or the session ended): sign in again.');
    throw new Error('not signed in');
  }
  const text = await res.text();
  const data = text === '' ? undefined : JSON.parse(text);
  if (!res.ok) throw new Error(data && data.reason ? `${res.status} ${typeof data.reason === 'string' ? data.reason : JSON.stringify(data.reason)}` : `${res.status}`);
  return data;
}
const get = (path) => api('GET', path);
const seg = (s) => encodeURIComponent(s);

// ---- rendering helpers ----

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== false) el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null) el.append(c instanceof Node ? c : String(c));
  return el;
}

function table(columns, rows) {
  return h(
    'table',
    {},
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', {}, c.title)))),
    h('tbody', {}, rows.length === 0 ? h('tr', {}, h('td', { colspan: columns.length }, 'none')) : rows.map((r) => h('tr', {}, columns.map((c) => h('td', { class: c.num ? 'num' : undefined }, c.cell(r)))))),
  );
}

const json = (v) => (v && Object.keys(v).length > 0 ? JSON.stringify(v) : '');
const num = (v) => (v === undefined ? '' : Number(v).toLocaleString());
const link = (hash, text) => h('a', { href: hash }, text);

function notice(text, error = false) {
  return h('p', { class: error ? 'error' : 'notice', role: error ? 'alert' : 'status' }, text);
}

/** A button that runs `action` (after `confirmText`, if any) and then re-renders the page (unless `stay`). */
function button(label, action, { danger = false, confirmText, stay = false } = {}) {
  return h('button', {
    class: danger ? 'danger' : undefined,
    onclick: async (e) => {
      e.preventDefault();
      if (confirmText && !window.confirm(confirmText)) return;
      try {
        await action();
        if (!stay) await render();
      } catch (err) {
        main.prepend(notice(err.message, true));
      }
    },
  }, label);
}

// ---- pages ----

/** A live chart: `series` names, values pushed every second; its element says how many points it holds. */
function liveChart(title, series) {
  const el = h('div', { class: 'chart', 'data-chart': title, 'data-points': '0' }, h('h2', {}, title));
  const data = [[], ...series.map(() => [])];
  const plot = new uPlot({ width: 520, height: 220, series: [{}, ...series.map((label, i) => ({ label, stroke: ['#f60', '#36c', '#393', '#c3c'][i % 4], width: 2 }))], axes: [{}, { size: 60 }] }, data, el);
  return {
    el,
    push(values) {
      data[0].push(Date.now() / 1000);
      values.forEach((v, i) => data[i + 1].push(v));
      if (data[0].length > 120) for (const column of data) column.shift();
      plot.setData(data);
      el.dataset.points = String(data[0].length);
      el.dataset.last = JSON.stringify(values);
    },
  };
}

async function overview() {
  const o = await get('/api/overview');
  const totals = h('div', { class: 'stats' });
  const depth = liveChart('Queued messages', ['ready', 'unacknowledged', 'total']);
  const rates = liveChart('Message rates (per second)', ['publish', 'deliver/get', 'ack']);
  state.charts = [depth, rates];
  let previous;
  const sample = async () => {
    const now = await get('/api/overview');
    const q = now.queue_totals || {};
    depth.push([q.messages_ready || 0, q.messages_unacknowledged || 0, q.messages || 0]);
    const s = now.message_stats || {};
    const counts = [s.publish || 0, s.deliver_get || 0, s.ack || 0];
    const t = performance.now();
    // rates from the counters themselves: exact between two polls
    if (previous) rates.push(counts.map((c, i) => Math.max(0, (c - previous.counts[i]) / ((t - previous.t) / 1000))));
    previous = { counts, t };
    const ot = now.object_totals || {};
    totals.replaceChildren(...[['Connections', ot.connections], ['Channels', ot.channels], ['Exchanges', ot.exchanges], ['Queues', ot.queues], ['Consumers', ot.consumers]].map(([k, v]) => h('div', { class: 'stat' }, k, h('b', {}, num(v)))));
  };
  await sample();
  state.timer = setInterval(() => sample().catch(() => {}), 1000);
  return [h('h2', {}, `${o.product_name} ${o.product_version} · ${o.node} · cluster ${o.cluster_name}`), totals, h('div', { class: 'charts' }, depth.el, rates.el)];
}

async function connections() {
  const list = await get('/api/connections');
  return [
    h('h2', {}, 'Connections'),
    table(
      [
        { title: 'Name', cell: (c) => c.name },
        { title: 'Client name', cell: (c) => c.user_provided_name || '' },
        { title: 'User', cell: (c) => c.user },
        { title: 'Virtual host', cell: (c) => c.vhost },
        { title: 'Channels', num: true, cell: (c) => num(c.channels) },
        { title: 'State', cell: (c) => c.state },
        { title: 'TLS', cell: (c) => (c.ssl ? 'yes' : '') },
        { title: '', cell: (c) => button('Force close', () => api('DELETE', `/api/connections/${seg(c.name)}`), { danger: true, confirmText: `Close ${c.name}?` }) },
      ],
      list,
    ),
  ];
}

async function channels() {
  const list = await get('/api/channels');
  return [
    h('h2', {}, 'Channels'),
    table(
      [
        { title: 'Channel', cell: (c) => c.name },
        { title: 'User', cell: (c) => c.user },
        { title: 'Virtual host', cell: (c) => c.vhost },
        { title: 'Mode', cell: (c) => (c.confirm ? 'confirm' : c.transactional ? 'transactional' : '') },
        { title: 'Prefetch', num: true, cell: (c) => num(c.prefetch_count) },
        { title: 'Consumers', num: true, cell: (c) => num(c.consumer_count) },
        { title: 'Unacked', num: true, cell: (c) => num(c.messages_unacknowledged) },
      ],
      list,
    ),
  ];
}

async function exchanges() {
  const [list, bindings] = await Promise.all([get('/api/exchanges'), get('/api/bindings')]);
  return [
    h('h2', {}, 'Exchanges'),
    table(
      [
        { title: 'Virtual host', cell: (e) => e.vhost },
        { title: 'Name', cell: (e) => e.name || '(AMQP default)' },
        { title: 'Type', cell: (e) => e.type },
        { title: 'Features', cell: (e) => [e.durable ? 'D' : '', e.auto_delete ? 'AD' : '', e.internal ? 'I' : ''].filter(Boolean).join(' ') },
        { title: 'Arguments', cell: (e) => json(e.arguments) },
      ],
      list,
    ),
    h('h2', {}, 'Bindings'),
    table(
      [
        { title: 'Virtual host', cell: (b) => b.vhost },
        { title: 'From', cell: (b) => b.source || '(AMQP default)' },
        { title: 'To', cell: (b) => `${b.destination_type} ${b.destination}` },
        { title: 'Routing key', cell: (b) => b.routing_key },
        { title: 'Arguments', cell: (b) => json(b.arguments) },
      ],
      bindings,
    ),
  ];
}

async function queues() {
  const list = await get('/api/queues');
  return [
    h('h2', {}, 'Queues'),
    table(
      [
        { title: 'Virtual host', cell: (q) => q.vhost },
        { title: 'Name', cell: (q) => link(`#/queue/${seg(q.vhost)}/${seg(q.name)}`, q.name) },
        { title: 'Type', cell: (q) => q.type },
        { title: 'Features', cell: (q) => [q.durable ? 'D' : '', q.auto_delete ? 'AD' : '', q.exclusive ? 'Excl' : ''].filter(Boolean).join(' ') },
        { title: 'Policy', cell: (q) => q.policy || '' },
        { title: 'Arguments', cell: (q) => json(q.arguments) },
        { title: 'Ready', num: true, cell: (q) => num(q.messages_ready) },
        { title: 'Unacked', num: true, cell: (q) => num(q.messages_unacknowledged) },
        { title: 'Total', num: true, cell: (q) => num(q.messages) },
        { title: 'Consumers', num: true, cell: (q) => num(q.consumers) },
      ],
      list,
    ),
  ];
}

async function queue(vhost, name) {
  const path = `/api/queues/${seg(vhost)}/${seg(name)}`;
  const q = await get(path);
  const consumers = (await get(`/api/consumers/${seg(vhost)}`)).filter((c) => c.queue.name === name);
  const out = h('div', { id: 'messages' });
  const payload = h('textarea', { name: 'payload' });
  const key = h('input', { name: 'routing_key', value: name });
  const count = h('input', { name: 'count', value: '5', size: 4 });
  const show = (messages) =>
    out.replaceChildren(...(messages.length === 0 ? [h('p', {}, 'Queue is empty')] : messages.map((m, i) => h('pre', {}, `#${i + 1} ${m.redelivered ? '(redelivered) ' : ''}routing key ${m.routing_key}, properties ${JSON.stringify(m.properties)}\n${m.payload}`))));
  return [
    h('h2', {}, `Queue ${name} in ${vhost}`),
    h('div', { class: 'stats' }, ...[['Ready', q.messages_ready], ['Unacked', q.messages_unacknowledged], ['Total', q.messages], ['Consumers', q.consumers]].map(([k, v]) => h('div', { class: 'stat', 'data-stat': k }, k, h('b', {}, num(v))))),
    h('p', {}, `Type ${q.type}, ${q.durable ? 'durable' : 'transient'}${q.auto_delete ? ', auto-delete' : ''}${q.exclusive ? ', exclusive' : ''}; policy ${q.policy || 'none'}; arguments ${json(q.arguments) || 'none'}`),
    h('h2', {}, 'Consumers'),
    table(
      [
        { title: 'Tag', cell: (c) => c.consumer_tag },
        { title: 'Channel', cell: (c) => c.channel_details.name },
        { title: 'Ack required', cell: (c) => (c.ack_required ? 'yes' : 'no') },
        { title: 'Prefetch', num: true, cell: (c) => num(c.prefetch_count) },
      ],
      consumers,
    ),
    h(
      'fieldset',
      {},
      h('legend', {}, 'Get messages'),
      h('label', {}, 'Messages ', count),
      button('Peek (requeue)', async () => show(await api('POST', `${path}/get`, { count: Number(count.value), ackmode: 'reject_requeue_true', encoding: 'auto' })), { stay: true }),
      ' ',
      button('Get (and ack)', async () => show(await api('POST', `${path}/get`, { count: Number(count.value), ackmode: 'ack_requeue_false', encoding: 'auto' })), { stay: true }),
      out,
    ),
    h(
      'fieldset',
      {},
      h('legend', {}, 'Publish a message (to the default exchange)'),
      h('label', {}, 'Routing key ', key),
      h('label', {}, 'Payload ', payload),
      button('Publish', () => api('POST', `/api/exchanges/${seg(vhost)}/amq.default/publish`, { routing_key: key.value, payload: payload.value, payload_encoding: 'string', properties: {} })),
    ),
    h('p', {}, button('Purge messages', () => api('DELETE', `${path}/contents`), { danger: true, confirmText: `Purge ${name}?` }), ' ', button('Delete queue', async () => {
      await api('DELETE', path);
      location.hash = '#/queues';
    }, { danger: true, confirmText: `Delete ${name}?` })),
  ];
}

async function users() {
  const list = await get('/api/users');
  const name = h('input', { name: 'name' });
  const password = h('input', { name: 'password', type: 'password' });
  const tags = h('input', { name: 'tags', placeholder: 'administrator, monitoring…' });
  return [
    h('h2', {}, 'Users'),
    table(
      [
        { title: 'Name', cell: (u) => u.name },
        { title: 'Tags', cell: (u) => (Array.isArray(u.tags) ? u.tags.join(', ') : u.tags) },
        { title: '', cell: (u) => button('Delete', () => api('DELETE', `/api/users/${seg(u.name)}`), { danger: true, confirmText: `Delete user ${u.name}?` }) },
      ],
      list,
    ),
    h('fieldset', {}, h('legend', {}, 'Add a user'), h('label', {}, 'Name ', name), h('label', {}, 'Password ', password), h('label', {}, 'Tags ', tags), button('Add user', () => api('PUT', `/api/users/${seg(name.value)}`, { password: password.value, tags: tags.value }))),
  ];
}

async function vhosts() {
  const list = await get('/api/vhosts');
  const name = h('input', { name: 'name' });
  return [
    h('h2', {}, 'Virtual hosts'),
    table(
      [
        { title: 'Name', cell: (v) => v.name },
        { title: 'Description', cell: (v) => v.description || '' },
        { title: 'Messages', num: true, cell: (v) => num(v.messages) },
        { title: 'Tracing', cell: (v) => (v.tracing ? 'on' : 'off') },
        { title: '', cell: (v) => button('Delete', () => api('DELETE', `/api/vhosts/${seg(v.name)}`), { danger: true, confirmText: `Delete virtual host ${v.name} and everything in it?` }) },
      ],
      list,
    ),
    h('fieldset', {}, h('legend', {}, 'Add a virtual host'), h('label', {}, 'Name ', name), button('Add virtual host', () => api('PUT', `/api/vhosts/${seg(name.value)}`, {}))),
  ];
}

async function policies() {
  const list = await get('/api/policies');
  return [
    h('h2', {}, 'Policies'),
    table(
      [
        { title: 'Virtual host', cell: (p) => p.vhost },
        { title: 'Name', cell: (p) => p.name },
        { title: 'Pattern', cell: (p) => p.pattern },
        { title: 'Apply to', cell: (p) => p['apply-to'] },
        { title: 'Definition', cell: (p) => JSON.stringify(p.definition) },
        { title: 'Priority', num: true, cell: (p) => p.priority },
        { title: '', cell: (p) => button('Delete', () => api('DELETE', `/api/policies/${seg(p.vhost)}/${seg(p.name)}`), { danger: true }) },
      ],
      list,
    ),
  ];
}

async function definitions() {
  const file = h('input', { type: 'file', name: 'definitions', accept: 'application/json,.json' });
  const result = h('div');
  return [
    h('h2', {}, 'Definitions'),
    h('p', {}, button('Download broker definitions', async () => {
      const defs = await get('/api/definitions');
      const a = h('a', { href: URL.createObjectURL(new Blob([JSON.stringify(defs, null, 2)], { type: 'application/json' })), download: 'definitions.json' });
      a.click();
    }, { stay: true })),
    h('fieldset', {}, h('legend', {}, 'Upload definitions'), file, ' ', button('Upload', async () => {
      if (!file.files[0]) throw new Error('choose a definitions file first');
      await api('POST', '/api/definitions', JSON.parse(await file.files[0].text()));
      result.replaceChildren(notice('Definitions imported.'));
    }, { stay: true }), result),
  ];
}

// ---- routing and signing in ----

const PAGES = { overview, connections, channels, exchanges, queues, queue, users, vhosts, policies, definitions };

async function render() {
  clearInterval(state.timer);
  const [page, ...args] = (location.hash.replace(/^#\//, '') || 'overview').split('/').map(decodeURIComponent);
  const show = PAGES[page] ?? overview;
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('current', a.getAttribute('href') === `#/${page === 'queue' ? 'queues' : page}`);
  try {
    main.replaceChildren(...(await show(...args)));
    main.dataset.page = page;
  } catch (err) {
    if (err.message !== 'not signed in') main.replaceChildren(notice(err.message, true));
  }
}

function showLogin(message) {
  state.auth = null;
  sessionStorage.removeItem('warren-auth');
  clearInterval(state.timer);
  main.replaceChildren();
  document.getElementById('login').hidden = false;
  document.getElementById('login-error').textContent = message || '';
}

document.getElementById('login').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = e.target;
  state.auth = btoa(`${form.user.value}:${form.password.value}`);
  try {
    const me = await get('/api/whoami');
    sessionStorage.setItem('warren-auth', state.auth);
    form.hidden = true;
    document.getElementById('who').textContent = `${me.name} (${[].concat(me.tags).join(', ') || 'no tags'})`;
    await render();
  } catch (err) {
    if (err.message !== 'not signed in') showLogin(err.message);
  }
});

window.addEventListener('hashchange', render);
if (state.auth) {
  get('/api/whoami').then((me) => {
    document.getElementById('who').textContent = `${me.name} (${[].concat(me.tags).join(', ')})`;
    return render();
  }, () => {});
} else showLogin();
