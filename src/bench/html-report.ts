import { createHash } from 'node:crypto';
import { CHARTS_JS } from '../dashboard/assets/charts.js';
import { uplotAssets } from '../dashboard/assets/uplot.js';
import type { BenchResult } from './report.js';

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
  var summary = $('summary');
  row(summary, 'connections / sockets', result.concurrency);
  row(summary, 'measured', (result.measuredMs / 1000).toFixed(1) + ' s');
  row(summary, 'completed', result.completed + ' (' + Math.round(result.perSec) + '/s)');
  row(summary, 'latency p50 / p90 / p99 / max', [result.latencyUs.p50, result.latencyUs.p90, result.latencyUs.p99, result.latencyUs.max].map(ms).join(' / '));
  row(summary, 'errors / resets / lost', result.errors + ' / ' + result.resets + ' / ' + result.lost);
  row(summary, 'bench CPU', result.cpuPercent + '% of one core');
  Object.keys(result.extra).forEach(function (key) { row(summary, key, result.extra[key]); });
  var series = result.series;
  if (series && series.atMs.length > 0) {
    var rates = { t: series.atMs.map(function (t) { return t / 1000; }), series: [{ label: (result.mode === 'connect' ? 'cycles' : 'requests') + '/s', axis: 0, values: series.perSec }] };
    socklabCharts.rateChart($('rate'), rates, 280);
  } else {
    $('rate').textContent = 'no rate series in this result';
  }
  var points = result.percentiles || [];
  if (points.length > 0) {
    socklabCharts.percentileChart($('latency'), points, 320);
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
  const uplot = uplotAssets();
  // JSON in a non-executed script element: `<` escaped so no text in it can close the element.
  const data = JSON.stringify({ result, generatedAt: generatedAt.toISOString() }).replace(/</g, '\\u003c');
  const scripts = [scriptSafe(uplot.js), scriptSafe(CHARTS_JS), REPORT_JS];
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
<h1 id="title">socklab bench</h1>
<p id="generated" class="muted"></p>
<section><h2>Summary</h2><table id="summary"></table></section>
<section><h2>Rate over time (per second, measured period)</h2><div id="rate"></div></section>
<section><h2>Latency by percentile (HDR)</h2><div id="latency"></div>
<p class="muted charts-note">The x axis spreads the tail: 90%, 99%, 99.9% … are equally far apart, so the slowest requests are visible.</p>
<table id="percentiles"></table></section>
<script type="application/json" id="bench-data">${data}</script>
${scripts.map((js) => `<script>${js}</script>`).join('\n')}
</body>
</html>
`;
}
