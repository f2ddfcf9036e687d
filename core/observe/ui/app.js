// The dashboard page: polls the REST API once a second and redraws. No build step: plain
// browser JavaScript, uPlot and dagre loaded as globals from /vendor/.
'use strict';

const POLL_MS = 1000;
const state = { jid: null, selectedVertex: 0, selectedCheckpoint: null, graphKey: '', charts: {} };

const $ = (id) => document.getElementById(id);
const fmt = (n, digits = 0) => (n === null || n === undefined ? '–' : Number(n).toLocaleString('en-US', { maximumFractionDigits: digits }));
const ms = (n) => (n === null || n === undefined ? '–' : `${fmt(n, n < 10 ? 1 : 0)} ms`);
const bytes = (n) => {
  if (n === null || n === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${fmt(n, i === 0 ? 0 : 1)} ${units[i]}`;
};
const duration = (t) => {
  const s = Math.floor(t / 1000);
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m ${s % 60}s` : `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
};
const time = (t) => (t ? new Date(t).toLocaleTimeString() : '–');
const watermark = (w) => (w === null || w === undefined ? '–' : `${new Date(w).toISOString().replace('T', ' ').replace('Z', '')} (${w})`);
const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
};
const svg = (tag, attrs = {}) => {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
};

async function get(path) {
  const r = await fetch(path, { cache: 'no-store' });
  if (!r.ok) throw new Error(`${path}: ${r.status}`);
  return r.json();
}

// Flink's colouring: idle blue through busy red, back-pressured towards black.
function vertexColour(m) {
  const mix = (a, b, t) => a.map((x, i) => Math.round(x + (b[i] - x) * t));
  const idle = [207, 227, 255],
    busy = [229, 57, 53],
    bp = [34, 34, 34];
  const bpT = Math.min(1, m.backPressuredPercent / 100);
  const c = mix(mix(idle, busy, Math.min(1, m.busyPercent / 100)), bp, bpT);
  return { fill: `rgb(${c.join(',')})`, text: bpT > 0.4 || m.busyPercent > 60 ? '#fff' : '#111' };
}

function drawGraph(job) {
  const g = $('graph');
  const key = JSON.stringify(job.plan.nodes);
  if (state.graphKey !== key) {
    // Lay out once per graph shape; later polls only recolour and relabel.
    state.graphKey = key;
    const layout = new dagre.graphlib.Graph();
    layout.setGraph({ rankdir: 'LR', nodesep: 30, ranksep: 70, marginx: 10, marginy: 10 });
    layout.setDefaultEdgeLabel(() => ({}));
    for (const v of job.vertices) layout.setNode(String(v.id), { width: 210, height: 74 });
    for (const n of job.plan.nodes)
      for (const i of n.inputs) layout.setEdge(String(i.id), String(n.id), { label: i.ship_strategy, width: 60, height: 14 });
    dagre.layout(layout);
    g.replaceChildren();
    const defs = svg('defs');
    const marker = svg('marker', {
      id: 'arrow',
      viewBox: '0 0 10 10',
      refX: '10',
      refY: '5',
      markerWidth: '7',
      markerHeight: '7',
      orient: 'auto',
    });
    marker.append(svg('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#7b8794' }));
    defs.append(marker);
    g.append(defs);
    for (const e of layout.edges()) {
      const ed = layout.edge(e);
      const grp = svg('g', { class: 'edge', 'data-from': e.v, 'data-to': e.w });
      grp.append(svg('path', { d: 'M' + ed.points.map((p) => `${p.x},${p.y}`).join(' L') }));
      const label = svg('text', { x: ed.x, y: ed.y - 2, 'text-anchor': 'middle' });
      label.textContent = ed.label;
      grp.append(label);
      g.append(grp);
    }
    for (const id of layout.nodes()) {
      const n = layout.node(id);
      const grp = svg('g', { class: 'vertex', 'data-vertex-id': id, transform: `translate(${n.x - n.width / 2},${n.y - n.height / 2})` });
      grp.append(svg('rect', { width: n.width, height: n.height }));
      for (let line = 0; line < 4; line++) grp.append(svg('text', { x: 8, y: 16 + line * 16 }));
      grp.addEventListener('click', () => {
        state.selectedVertex = Number(id);
        refresh();
      });
      g.append(grp);
    }
    const box = layout.graph();
    g.setAttribute('viewBox', `0 0 ${box.width} ${box.height}`);
    g.style.height = `${Math.max(160, box.height)}px`;
  }
  for (const v of job.vertices) {
    const grp = g.querySelector(`.vertex[data-vertex-id="${v.id}"]`);
    if (!grp) continue;
    const m = v.metrics;
    const colour = vertexColour(m);
    const rate = v.operators[0].kind === 'source' ? m.recordsOutPerSecond : m.recordsInPerSecond;
    grp.dataset.rate = String(rate);
    grp.dataset.busy = String(m.busyPercent);
    grp.dataset.backpressured = String(m.backPressuredPercent);
    grp.dataset.backpressureLevel = m.backPressureLevel;
    grp.classList.toggle('selected', v.id === state.selectedVertex);
    grp.querySelector('rect').setAttribute('fill', colour.fill);
    const texts = grp.querySelectorAll('text');
    const lines = [
      v.name.length > 30 ? v.name.slice(0, 29) + '…' : v.name,
      `parallelism ${v.parallelism} · ${fmt(rate)} rec/s`,
      `busy ${fmt(m.busyPercent)}% · back-pressured ${fmt(m.backPressuredPercent)}%`,
      `backpressure ${m.backPressureLevel.toUpperCase()}`,
    ];
    texts.forEach((t, i) => {
      t.textContent = lines[i];
      t.setAttribute('fill', colour.text);
      t.setAttribute('font-weight', i === 0 ? '600' : '400');
    });
    const title = grp.querySelector('title') ?? grp.appendChild(svg('title'));
    title.textContent = v.operators.map((o) => `${o.uid} (${o.kind})`).join(' → ');
  }
}

function drawSubtasks(vertex) {
  $('vertex-name').textContent = `${vertex.name} (vertex ${vertex.id})`;
  const cols = [
    'subtask',
    'operator',
    'records in',
    'records out',
    'in/s',
    'out/s',
    'bytes in',
    'bytes out',
    'busy ms/s',
    'idle ms/s',
    'back-pressured ms/s',
    'in ring',
    'out ring',
    'input watermark',
    'output watermark',
    'state entries',
    'state size',
  ];
  $('subtasks').tHead.replaceChildren(el('tr', {}, ...cols.map((c) => el('th', {}, c))));
  const rows = [];
  for (const st of vertex.subtasks) {
    for (const o of st.operators) {
      rows.push(
        el(
          'tr',
          { 'data-subtask': st.subtask, 'data-operator': o.uid },
          ...[
            st.subtask,
            o.uid,
            fmt(o.numRecordsIn),
            fmt(o.numRecordsOut),
            fmt(o.numRecordsInPerSecond),
            fmt(o.numRecordsOutPerSecond),
            bytes(o.numBytesIn),
            bytes(o.numBytesOut),
            fmt(o.busyTimeMsPerSecond),
            fmt(o.idleTimeMsPerSecond),
            fmt(o.backPressuredTimeMsPerSecond),
            `${fmt(o.inPoolUsage * 100)}%`,
            `${fmt(o.outPoolUsage * 100)}%`,
            o.currentInputWatermark ?? '–',
            o.currentOutputWatermark ?? '–',
            o.stateEntries === undefined ? '' : fmt(o.stateEntries),
            o.stateBytes === undefined ? '' : bytes(o.stateBytes),
          ].map((x) => el('td', {}, String(x))),
        ),
      );
    }
  }
  $('subtasks').tBodies[0].replaceChildren(...rows);
}

function chart(id, title, series, data) {
  const host = $(id);
  const width = Math.max(300, host.clientWidth - 4);
  const existing = state.charts[id];
  if (existing && existing.series.length === series.length + 1) {
    existing.setData(data);
    return;
  }
  existing?.destroy();
  const palette = ['#2962ff', '#e53935', '#1a7f37', '#8e24aa', '#ef6c00', '#00838f', '#6d4c41'];
  state.charts[id] = new uPlot(
    {
      title,
      width,
      height: 200,
      series: [{}, ...series.map((label, i) => ({ label, stroke: palette[i % palette.length], width: 1.5 }))],
      axes: [{}, { size: 60 }],
    },
    data,
    host,
  );
}

function drawCheckpoints(c) {
  $('checkpoint-counts').textContent =
    `triggered ${c.counts.triggered} · completed ${c.counts.completed} · failed ${c.counts.failed} · in progress ${c.counts.in_progress}`;
  const rows = c.history.map((h) => {
    const p = h.phases ?? {};
    const tr = el(
      'tr',
      { 'data-checkpoint-id': h.id, 'data-status': h.status, class: h.id === state.selectedCheckpoint ? 'selected' : '' },
      ...[
        h.id,
        h.kind,
        h.status,
        `${h.numAcknowledgedSubtasks}/${h.numSubtasks}`,
        time(h.triggerTimestamp),
        ms(h.durationMs),
        bytes(h.bytes),
        ms(p.startDelayMs),
        ms(p.alignmentMs),
        ms(p.syncMs),
        ms(p.asyncMs),
      ].map((x, i) => el('td', i === 2 ? { class: `status-${h.status}` } : {}, String(x))),
    );
    if (h.failureReason) tr.title = h.failureReason;
    tr.addEventListener('click', () => {
      state.selectedCheckpoint = h.id;
      drawCheckpoints(c);
    });
    return tr;
  });
  $('checkpoint-history').tBodies[0].replaceChildren(...rows);
  const done = c.history.filter((h) => h.status === 'COMPLETED').reverse();
  if (done.length > 0)
    chart(
      'checkpoint-chart',
      'checkpoint duration (ms)',
      ['duration', 'alignment', 'async'],
      [
        done.map((h) => h.triggerTimestamp / 1000),
        done.map((h) => h.durationMs),
        done.map((h) => h.phases?.alignmentMs ?? null),
        done.map((h) => h.phases?.asyncMs ?? null),
      ],
    );
  const selected = c.history.find((h) => h.id === state.selectedCheckpoint) ?? c.history.find((h) => h.status === 'COMPLETED');
  $('checkpoint-detail-id').textContent = selected ? String(selected.id) : '–';
  const names = state.vertexNames ?? [];
  $('checkpoint-detail').tBodies[0].replaceChildren(
    ...(selected?.tasks ?? []).map((t) =>
      el(
        'tr',
        {},
        ...[
          names[t.vertex] ?? t.vertex,
          t.subtask,
          time(t.ackTimestamp),
          ms(t.phases.startDelayMs),
          ms(t.phases.alignmentMs),
          ms(t.phases.syncMs),
          ms(t.phases.asyncMs),
          bytes(t.bytes),
        ].map((x) => el('td', {}, String(x))),
      ),
    ),
  );
}

function drawExceptions(x) {
  const entries = x.exceptionHistory.entries;
  if (entries.length === 0) return $('exceptions').replaceChildren(el('p', { class: 'none' }, 'No failures.'));
  $('exceptions').replaceChildren(
    ...entries.map((e) => {
      const d = el(
        'div',
        { class: 'exception', 'data-operator-uid': e.operatorUid ?? '', 'data-code': e.code, 'data-attempt': e.attempt },
        el(
          'div',
          {},
          el('strong', {}, `${time(e.timestamp)} · ${e.code}`),
          ` · operator ${e.operatorUid ?? '?'} · subtask ${e.subtask ?? '?'} · attempt ${e.attempt}`,
        ),
        el('div', { class: 'message' }, e.message),
      );
      // Which record failed (file and line, or a generator's index), when its source task threw.
      if (e.origin) d.append(el('div', { class: 'origin', 'data-source': e.origin.source, 'data-offset': e.origin.offset }, e.originText));
      if (e.cause && e.cause !== e.message) d.append(el('div', {}, `cause: ${e.cause}`));
      if (e.stack) d.append(el('details', {}, el('summary', {}, 'stack'), el('pre', {}, e.stack)));
      return d;
    }),
  );
}

async function refresh() {
  try {
    if (!state.jid) state.jid = (await get('/jobs/overview')).jobs[0].jid;
    const base = `/jobs/${state.jid}`;
    const [job, checkpoints, exceptions, series] = await Promise.all([
      get(base),
      get(`${base}/checkpoints`),
      get(`${base}/exceptions`),
      get(`${base}/series`),
    ]);
    state.vertexNames = job.vertices.map((v) => v.name);
    $('job-name').textContent = job.name;
    $('job-state').textContent = job.state;
    $('job-state').dataset.state = job.state;
    $('job-uptime').textContent = duration(job.duration);
    const sources = job.vertices.filter((v) => v.operators[0].kind === 'source');
    $('job-rate').textContent = fmt(sources.reduce((a, v) => a + v.metrics.recordsOutPerSecond, 0));
    $('job-restarts').textContent = String(job.metrics.numRestarts);
    $('job-checkpoints').textContent =
      `${job.metrics.numberOfCompletedCheckpoints} completed · ${job.metrics.numberOfFailedCheckpoints} failed`;
    $('job-mode').textContent = `${job.mode} · ${job.stateBackend}`;
    drawGraph(job);
    if (!job.vertices.some((v) => v.id === state.selectedVertex)) state.selectedVertex = job.vertices[0].id;
    drawSubtasks(await get(`${base}/vertices/${state.selectedVertex}`));
    $('watermarks').tBodies[0].replaceChildren(
      ...job.vertices.map((v) =>
        el(
          'tr',
          { 'data-vertex-id': v.id },
          el('td', {}, v.name),
          el('td', {}, watermark(v.metrics.inputWatermark)),
          el('td', {}, watermark(v.metrics.outputWatermark)),
        ),
      ),
    );
    if (series.t.length > 1)
      chart('throughput-chart', 'records/s per vertex (out; sinks: in)', series.vertices, [series.t, ...series.byVertex]);
    drawCheckpoints(checkpoints);
    drawExceptions(exceptions);
    document.body.dataset.updated = String(Date.now());
    const finished = ['FINISHED', 'FAILED', 'CANCELED'].includes(job.state);
    $('savepoint').disabled = finished;
    $('stop').disabled = finished;
  } catch (err) {
    $('job-state').textContent = `unreachable (${err.message})`;
  }
}

async function act(path, body) {
  const r = await fetch(`/jobs/${state.jid}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-eddy-token': $('token').value },
    body: JSON.stringify(body),
  });
  const answer = await r.json().catch(() => ({}));
  $('action-result').textContent = r.ok ? JSON.stringify(answer) : (answer.errors ?? [r.statusText]).join('; ');
}
$('savepoint').addEventListener('click', () => act('/savepoints', {}));
$('stop').addEventListener('click', () => act('/stop', { withSavepoint: false }));

refresh();
setInterval(refresh, POLL_MS);
