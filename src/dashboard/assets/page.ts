/**
 * The live page: static HTML, CSS and JavaScript served by the dashboard (script-src 'self': no inline
 * script anywhere). Everything a peer may have sent reaches the DOM through `textContent` only.
 */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>socklab dashboard</title>
<link rel="stylesheet" href="/uplot.css">
<link rel="stylesheet" href="/app.css">
<script src="/uplot.js" defer></script>
<script src="/charts.js" defer></script>
<script src="/app.js" defer></script>
</head>
<body>
<header>
  <h1 id="title">socklab</h1>
  <span id="address" class="pill"></span>
  <span id="uptime" class="pill"></span>
  <span id="status" class="pill">connecting…</span>
</header>
<main>
  <section id="cards" class="cards"></section>
  <section class="panel"><h2>Rates, last minute</h2><div id="chart"></div></section>
  <section id="latency-panel" class="panel" hidden><h2>Latency distribution (HDR)</h2><div id="latency"></div></section>
  <section id="connections-panel" class="panel" hidden>
    <h2>Open connections <span id="connection-count"></span></h2>
    <table id="connections">
      <thead><tr><th>peer</th><th>age</th><th>bytes in</th><th>bytes out</th><th>msgs in</th><th>msgs out</th><th>state</th><th>last message</th></tr></thead>
      <tbody></tbody>
    </table>
    <p id="unlisted" class="muted"></p>
  </section>
  <div id="sections" class="sections"></div>
</main>
<footer class="muted">read-only view · updated live · <a href="/metrics">/metrics</a> · <a href="/api/state">/api/state</a></footer>
</body>
</html>
`;

export const PAGE_CSS = `
:root { color-scheme: light; --fg: #1f2328; --muted: #656d76; --line: #d0d7de; --bg: #f6f8fa; --accent: #1f6feb; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: #fff; }
header { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; padding: 12px 20px; border-bottom: 1px solid var(--line); background: var(--bg); }
h1 { font-size: 18px; margin: 0 12px 0 0; }
h2 { font-size: 15px; margin: 0 0 8px; }
main { padding: 16px 20px; display: grid; gap: 16px; }
.pill { border: 1px solid var(--line); border-radius: 999px; padding: 2px 10px; background: #fff; font-variant-numeric: tabular-nums; }
#status.live { border-color: #1a7f37; color: #1a7f37; }
#status.down { border-color: #d1242f; color: #d1242f; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; min-width: 110px; background: var(--bg); }
.card .value { font-size: 20px; font-weight: 600; font-variant-numeric: tabular-nums; }
.card .label { color: var(--muted); font-size: 12px; }
.panel { border: 1px solid var(--line); border-radius: 6px; padding: 12px; overflow-x: auto; }
.sections { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 16px; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 500; font-size: 12px; }
td.num { text-align: right; }
td.last { font-family: ui-monospace, monospace; white-space: pre-wrap; word-break: break-all; max-width: 420px; }
.muted { color: var(--muted); }
footer { padding: 8px 20px 20px; }
`;

export const PAGE_JS = String.raw`'use strict';
(function () {
  var charts = socklabCharts;
  var rateChart = null;
  var rateKey = '';
  var latencyChart = null;

  function $(id) { return document.getElementById(id); }

  function text(tag, value, className) {
    var el = document.createElement(tag);
    el.textContent = value == null ? '' : String(value);
    if (className) el.className = className;
    return el;
  }

  function duration(ms) {
    var s = Math.floor(ms / 1000);
    if (s < 60) return s + ' s';
    var m = Math.floor(s / 60);
    if (m < 60) return m + ' min ' + (s % 60) + ' s';
    var h = Math.floor(m / 60);
    return h + ' h ' + (m % 60) + ' min';
  }

  function renderCards(cards) {
    var box = $('cards');
    box.replaceChildren();
    cards.forEach(function (card) {
      var el = document.createElement('div');
      el.className = 'card';
      el.append(text('div', typeof card.value === 'number' ? card.value.toLocaleString('en-US') : card.value, 'value'), text('div', card.label, 'label'));
      box.append(el);
    });
  }

  function renderConnections(rows, unlisted) {
    $('connections-panel').hidden = false;
    var body = $('connections').tBodies[0];
    var fresh = document.createDocumentFragment();
    rows.forEach(function (row) {
      var tr = document.createElement('tr');
      tr.dataset.peer = row.peer;
      tr.append(
        text('td', row.peer, 'peer'),
        text('td', duration(row.ageMs), 'num'),
        text('td', charts.bytes(row.bytesIn), 'num'),
        text('td', charts.bytes(row.bytesOut), 'num'),
        text('td', row.messagesIn == null ? '' : row.messagesIn, 'num'),
        text('td', row.messagesOut == null ? '' : row.messagesOut, 'num'),
        text('td', row.state, 'state'),
        text('td', row.last == null ? '' : row.last, 'last')
      );
      fresh.append(tr);
    });
    body.replaceChildren(fresh);
    $('connection-count').textContent = '(' + (rows.length + unlisted) + ')';
    $('unlisted').textContent = unlisted > 0 ? unlisted + ' more not listed' : '';
  }

  function renderSections(sections) {
    var box = $('sections');
    box.replaceChildren();
    sections.forEach(function (section) {
      var panel = document.createElement('section');
      panel.className = 'panel';
      panel.append(text('h2', section.title));
      if (section.rows.length === 0) {
        panel.append(text('p', section.empty || 'none', 'muted'));
      } else {
        var table = document.createElement('table');
        var head = document.createElement('tr');
        section.columns.forEach(function (c) { head.append(text('th', c)); });
        table.createTHead().append(head);
        var body = table.createTBody();
        section.rows.forEach(function (row) {
          var tr = document.createElement('tr');
          row.forEach(function (cell) { tr.append(text('td', cell, typeof cell === 'number' ? 'num' : '')); });
          body.append(tr);
        });
        panel.append(table);
      }
      box.append(panel);
    });
  }

  function renderRates(rates) {
    var key = rates.series.map(function (s) { return s.label; }).join('|');
    if (rateChart && key === rateKey) {
      rateChart.setData(charts.toColumns(rates));
      return;
    }
    if (rateChart) rateChart.destroy();
    $('chart').replaceChildren();
    rateKey = key;
    rateChart = charts.rateChart($('chart'), rates, 260, 60);
    charts.keepWidth(rateChart, $('chart'));
  }

  function renderLatency(points) {
    $('latency-panel').hidden = false;
    if (latencyChart) latencyChart.destroy();
    $('latency').replaceChildren();
    latencyChart = charts.percentileChart($('latency'), points);
  }

  function render(state) {
    document.title = 'socklab · ' + state.title;
    $('title').textContent = state.title;
    $('address').textContent = state.address;
    $('uptime').textContent = 'up ' + duration(state.uptimeMs);
    renderCards(state.cards);
    if (state.connections) renderConnections(state.connections, state.unlisted || 0);
    renderSections(state.sections);
    renderRates(state.rates);
    if (state.percentiles && state.percentiles.length > 0) renderLatency(state.percentiles);
    document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
  }

  function connect() {
    var events = new EventSource('/events');
    var status = $('status');
    events.onopen = function () { status.textContent = 'live'; status.className = 'pill live'; };
    events.onerror = function () { status.textContent = 'reconnecting…'; status.className = 'pill down'; };
    events.onmessage = function (event) { render(JSON.parse(event.data)); };
  }

  connect();
})();
`;
