import { createHash } from 'node:crypto';
import { CHARTS_JS } from '../dashboard/assets/charts.js';
import { uplotAssets } from '../dashboard/assets/uplot.js';
import type { BenchResult } from './report.js';
import { cpus, hostname, release } from 'node:os';

/** The generator's machine, as the report names it. */
export function machineText(): string {
  return `${hostname()}: ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'CPU'}, ${process.platform} ${release()}, Node ${process.version}`;
}

/** Builds the report page from the data inlined next to it; all text goes in through textContent. */
const REPORT_JS = String.raw`'use strict';
(function () {
  var data = JSON.parse(document.getElementById('bench-data').textContent);
  var result = data.result;
  function $(id) { return document.getElementById(id); }
  function ms(us) { return us >= 10000 ? (us / 1000).toFixed(0) + ' ms' : (us / 1000).toFixed(2) + ' ms'; }
  function row(table, label, value) {
    var tr = table.insertRow();
    var th = document.createElement('th');
    th.textContent = label;
    var td = document.createElement('td');
    td.textContent = String(value);
    tr.append(th, td);
  }
  $('title').textContent = 'socklab bench ' + result.mode + ' → ' + result.target;
  $('generated').textContent = 'generated ' + data.generatedAt;
  var LABELS = { opened: 'opened', closedDuringHold: 'closed during the hold', answered: 'answered', sent: 'sent', outstandingAtEnd: 'awaiting a reply at the end', late: 'late replies (after their timeout)' };
  var COUNT_LABELS = { scheduled: 'scheduled', sent: 'sent', completed: 'completed', warmupScheduled: 'warm-up scheduled', warmupCompleted: 'warm-up completed', drainCompleted: 'answered in the drain', dropped: 'dropped', unexpected: 'unexpected replies', timeouts: 'timeouts', abandoned: 'lost on a closed connection', unanswered: 'unanswered at the end', closes: 'closed by the server', resets: 'reset by the server', socketErrors: 'socket errors', protocolErrors: 'undecodable replies', connectFailed: 'failed connects', reconnects: 'reconnects', unscheduled: 'never sent (ended early)', connectionsAtEnd: 'connections at the end' };
  function spread(l) { return [l.p50, l.p90, l.p99, l.p999, l.max].map(function (v) { return v == null ? '–' : ms(v); }).join(' / '); }
  var run = $('run');
  var config = result.config || {};
  if (config.command) row(run, 'command', config.command);
  row(run, 'socklab', config.version || data.version);
  row(run, 'machine', data.machine);
  Object.keys(config).filter(function (key) { return key !== 'command' && key !== 'version'; }).forEach(function (key) {
    var value = config[key];
    row(run, key, typeof value === 'object' || (typeof value === 'string' && /[\u0000-\u001f]/.test(value)) ? JSON.stringify(value) : value);
  });
  var summary = $('summary');
  row(summary, 'verdict', result.failed ? 'FAILED: ' + (result.failedBecause || []).join('; ') : result.failed === false ? 'ok' : '–');
  row(summary, 'connections / sockets', result.concurrency);
  row(summary, 'measured', (result.measuredMs / 1000).toFixed(1) + ' s');
  row(summary, 'completed', result.completed + ' (' + Math.round(result.perSec) + '/s)');
  if (result.serviceTimeUs) {
    row(summary, (result.loop === 'open' ? 'latency from the intended time' : 'latency') + ' p50 / p90 / p99 / p99.9 / max', spread(result.latencyUs));
    row(summary, 'service time from the write p50 / p90 / p99 / p99.9 / max', spread(result.serviceTimeUs));
    row(summary, 'send lag p50 / p90 / p99 / p99.9 / max', spread(result.sendLagUs));
  } else {
    row(summary, 'latency p50 / p90 / p99 / max', [result.latencyUs.p50, result.latencyUs.p90, result.latencyUs.p99, result.latencyUs.max].map(ms).join(' / '));
    row(summary, 'errors / resets / lost', result.errors + ' / ' + result.resets + ' / ' + result.lost);
  }
  if (result.serverCpu) row(summary, 'server CPU', result.serverCpu.cpuPercent + '% of one core' + (result.serverCpu.usPerOp == null ? '' : ', ' + result.serverCpu.usPerOp + ' µs per request') + ' (pid ' + result.serverCpu.pid + ', ' + result.serverCpu.command + ')');
  row(summary, 'bench CPU', result.cpuPercent + '% of one core' + (result.generatorUsPerOp == null ? '' : ', ' + result.generatorUsPerOp + ' µs per request'));
  (result.warnings || []).forEach(function (w) { row(summary, 'warning', w); });
  Object.keys(result.extra).forEach(function (key) { row(summary, LABELS[key] || key, result.extra[key]); });
  var counts = result.counts || {};
  Object.keys(counts).forEach(function (key) { row($('counts'), COUNT_LABELS[key] || key, counts[key]); });
  var intervals = (result.intervals || []).filter(function (i) { return i.measuring; });
  var series = result.series;
  var t;
  if (intervals.length > 0) {
    t = intervals.map(function (i) { return i.endMs / 1000; });
    socklabCharts.rateChart($('rate'), { t: t, series: [{ label: (result.mode === 'connect' ? 'cycles' : 'requests') + '/s', axis: 0, values: intervals.map(function (i) { return i.perSec; }) }] }, 240);
    socklabCharts.rateChart($('over-time'), { t: t, series: [
      { label: 'latency p50 (ms)', axis: 0, values: intervals.map(function (i) { return i.p50Us / 1000; }) },
      { label: 'latency p99 (ms)', axis: 0, values: intervals.map(function (i) { return i.p99Us / 1000; }) },
      { label: 'service time p99 (ms)', axis: 0, values: intervals.map(function (i) { return i.serviceP99Us / 1000; }) },
    ] }, 260);
    socklabCharts.rateChart($('errors'), { t: t, series: [{ label: 'failed requests', axis: 0, values: intervals.map(function (i) { return i.failed; }) }] }, 200);
  } else if (series && series.atMs.length > 0) {
    var rates = { t: series.atMs.map(function (x) { return x / 1000; }), series: [{ label: (result.mode === 'connect' ? 'cycles' : 'requests') + '/s', axis: 0, values: series.perSec }] };
    socklabCharts.rateChart($('rate'), rates, 240);
    $('over-time').textContent = 'this mode records no latency per interval';
    $('errors').textContent = 'this mode records no errors per interval';
  } else {
    $('rate').textContent = 'no rate series in this result';
  }
  var points = result.percentiles || [];
  if (points.length > 0) {
    var curves = [{ label: result.servicePercentiles ? 'latency from the intended time (corrected)' : 'latency (ms)', points: points }];
    if (result.servicePercentiles && result.loop === 'open') curves.push({ label: 'service time from the write (uncorrected)', points: result.servicePercentiles });
    socklabCharts.percentileChart($('latency'), points, 320, curves);
    var table = $('percentiles');
    points.filter(function (p) { return [50, 90, 99, 99.9, 99.99, 99.999, 100].indexOf(p[0]) !== -1; }).forEach(function (p) {
      row(table, p[0] === 100 ? 'max' : p[0] + '%', ms(p[1]));
    });
  } else {
    $('latency').textContent = 'no latencies recorded';
  }
  document.body.dataset.ready = 'true';
})();
`;

const REPORT_CSS = `
body { margin: 0 auto; max-width: 1100px; padding: 20px; font: 14px/1.4 system-ui, sans-serif; color: #1f2328; }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 15px; margin: 20px 0 8px; }
.muted { color: #656d76; }
section { border: 1px solid #d0d7de; border-radius: 6px; padding: 12px; margin-top: 16px; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 3px 16px 3px 0; border-bottom: 1px solid #eaeef2; }
th { font-weight: 500; color: #656d76; }
.charts-note { font-size: 12px; }
`;

/** A `<script>` body must not contain `</script`; JSON may also hold `<!--`. Escaping `<` covers both. */
function scriptSafe(text: string): string {
  return text.replace(/<\/(script)/gi, '<\\/$1');
}

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/**
 * One self-contained HTML file for a bench result: uPlot, the chart code and the data are inlined, so it opens
 * from disk with no network. Its Content-Security-Policy allows exactly these inline scripts and styles (by
 * hash) and nothing from anywhere else.
 *
 * @example
 * writeFileSync('report.html', renderHtmlReport(result));
 */
export function renderHtmlReport(result: BenchResult, generatedAt = new Date()): string {
  return reportPage({ result, generatedAt: generatedAt.toISOString(), machine: machineText() }, REPORT_JS, `<h1 id="title">socklab bench</h1>
<p id="generated" class="muted"></p>
<section><h2>What was run</h2><table id="run"></table></section>
<section><h2>Summary</h2><table id="summary"></table></section>
<section><h2>Counts</h2><table id="counts"></table></section>
<section><h2>Rate over time (measured period)</h2><div id="rate"></div></section>
<section><h2>Latency over time (p50 and p99 per interval)</h2><div id="over-time"></div></section>
<section><h2>Failed requests over time</h2><div id="errors"></div></section>
<section><h2>Latency by percentile (HDR)</h2><div id="latency"></div>
<p class="muted charts-note">The x axis spreads the tail: 90%, 99%, 99.9% … are equally far apart, so the slowest requests are visible.</p>
<table id="percentiles"></table></section>
`);
}

/**
 * The self-contained page around a report's data and script: uPlot and the chart code inlined, and a
 * Content-Security-Policy that allows exactly these inline scripts and styles (by hash) and nothing else.
 */
export function reportPage(data: unknown, pageJs: string, bodyHtml: string): string {
  const uplot = uplotAssets();
  // JSON in a non-executed script element: `<` escaped so no text in it can close the element.
  const json = JSON.stringify(data).replace(/</g, '\\u003c');
  const scripts = [scriptSafe(uplot.js), scriptSafe(CHARTS_JS), pageJs];
  const styles = [uplot.css, REPORT_CSS];
  const csp = [
    "default-src 'none'",
    `script-src ${scripts.map(sha256).join(' ')}`,
    `style-src ${styles.map(sha256).join(' ')}`,
    "img-src data:",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>socklab bench report</title>
${styles.map((css) => `<style>${css}</style>`).join('\n')}
</head>
<body>
${bodyHtml}<script type="application/json" id="bench-data">${json}</script>
${scripts.map((js) => `<script>${js}</script>`).join('\n')}
</body>
</html>
`;
}
