import { reportPage } from './html-report.js';
import type { BenchResult } from './report.js';

/** A result to compare, under the name it is shown by (its file name). */
export interface NamedResult {
  name: string;
  result: BenchResult;
}

/**
 * Reads a saved result: the output of `bench --json` (its last line, the `summary`), or a bare result object.
 * @example parseSavedResult(readFileSync('a.json', 'utf8'))
 */
export function parseSavedResult(text: string): BenchResult {
  const lines = text.trim().split('\n').filter((line) => line.trim() !== '');
  let parsed: { event?: string; totals?: BenchResult } & Partial<BenchResult>;
  try {
    parsed = JSON.parse(lines.length > 1 ? lines.at(-1)! : text) as typeof parsed;
  } catch {
    throw new RangeError('not JSON: save a run with `socklab bench … --json > run.json`');
  }
  const result = parsed.event === 'summary' ? parsed.totals : (parsed as BenchResult);
  if (!result || typeof result.mode !== 'string' || typeof result.latencyUs !== 'object') throw new RangeError('no bench result in it: save a run with `socklab bench … --json > run.json`');
  return result;
}

/** The rows compared: a label and how to read the figure (undefined: not in that result). */
const METRICS: [string, (r: BenchResult) => number | undefined, boolean][] = [
  ['requests/s', (r) => r.perSec, true],
  ['latency p50 (ms)', (r) => r.latencyUs.p50 / 1000, false],
  ['latency p90 (ms)', (r) => r.latencyUs.p90 / 1000, false],
  ['latency p99 (ms)', (r) => r.latencyUs.p99 / 1000, false],
  ['latency p99.9 (ms)', (r) => (r.latencyUs.p999 === undefined ? undefined : r.latencyUs.p999 / 1000), false],
  ['latency max (ms)', (r) => r.latencyUs.max / 1000, false],
  ['service time p99 (ms)', (r) => (r.serviceTimeUs ? r.serviceTimeUs.p99 / 1000 : undefined), false],
  ['failures per request', (r) => r.errorRate, false],
  ['server CPU µs/request', (r) => r.serverCpu?.usPerOp, false],
  ['bench CPU µs/request', (r) => r.generatorUsPerOp, false],
];

export interface ComparisonRow {
  metric: string;
  values: (number | undefined)[];
  /** Each value divided by the first run's. */
  ratios: (number | undefined)[];
}

/** The figures of every run side by side, with each one's ratio to the first. */
export function compareResults(runs: readonly NamedResult[]): ComparisonRow[] {
  return METRICS.map(([metric, read]) => {
    const values = runs.map((run) => read(run.result));
    const base = values[0];
    return { metric, values, ratios: values.map((v) => (v === undefined || base === undefined || base === 0 ? undefined : v / base)) };
  }).filter((row) => row.values.some((v) => v !== undefined));
}

function cell(value: number | undefined): string {
  if (value === undefined) return '–';
  return Math.abs(value) >= 100 ? Math.round(value).toLocaleString('en-US') : String(Math.round(value * 1000) / 1000);
}

/** The comparison as a text table (the terminal's view). */
export function formatComparison(runs: readonly NamedResult[]): string {
  const rows = compareResults(runs);
  const header = ['', ...runs.map((run, i) => (i === 0 ? run.name : `${run.name} (× first)`))];
  const body = rows.map((row) => [row.metric, ...row.values.map((v, i) => (i === 0 ? cell(v) : `${cell(v)} (${row.ratios[i] === undefined ? '–' : `${row.ratios[i]!.toFixed(2)}×`})`))]);
  const widths = header.map((_, c) => Math.max(...[header, ...body].map((line) => line[c]!.length)) + 2);
  const targets = runs.map((run) => `${run.name}: ${run.result.mode} ${run.result.target}${run.result.config?.command ? ` (${String(run.result.config.command)})` : ''}`);
  return [...targets, '', ...[header, ...body].map((line) => line.map((text, c) => text.padEnd(widths[c]!)).join('').trimEnd())].join('\n') + '\n';
}

const COMPARE_JS = String.raw`'use strict';
(function () {
  var data = JSON.parse(document.getElementById('bench-data').textContent);
  function $(id) { return document.getElementById(id); }
  function text(tag, value) { var el = document.createElement(tag); el.textContent = value; return el; }
  var runs = $('runs');
  data.runs.forEach(function (run) {
    var tr = runs.insertRow();
    tr.append(text('th', run.name), text('td', run.result.mode + ' ' + run.result.target + (run.result.config && run.result.config.command ? ' — ' + run.result.config.command : '')));
  });
  var table = $('comparison');
  var head = table.createTHead().insertRow();
  head.append(text('th', ''));
  data.runs.forEach(function (run, i) { head.append(text('th', i === 0 ? run.name : run.name + ' (× first)')); });
  data.rows.forEach(function (row) {
    var tr = table.insertRow();
    tr.append(text('th', row.metric));
    row.values.forEach(function (v, i) {
      var shown = v == null ? '–' : (Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : String(Math.round(v * 1000) / 1000));
      if (i > 0 && row.ratios[i] != null) shown += ' (' + row.ratios[i].toFixed(2) + '×)';
      tr.append(text('td', shown));
    });
  });
  var curves = data.runs.filter(function (run) { return (run.result.percentiles || []).length > 0; }).map(function (run) {
    return { label: run.name, points: run.result.percentiles };
  });
  if (curves.length > 0) socklabCharts.percentileChart($('latency'), curves[0].points, 340, curves);
  else $('latency').textContent = 'no latencies recorded';
  document.body.dataset.ready = 'true';
})();
`;

/** One self-contained HTML page overlaying the runs' latency percentiles, with the figures and ratios side by side. */
export function renderCompareReport(runs: readonly NamedResult[], generatedAt = new Date()): string {
  return reportPage(
    { runs, rows: compareResults(runs), generatedAt: generatedAt.toISOString() },
    COMPARE_JS,
    `<h1>socklab bench compare</h1>
<section><h2>Runs</h2><table id="runs"></table></section>
<section><h2>Side by side (ratios to the first run)</h2><table id="comparison"></table></section>
<section><h2>Latency by percentile (HDR), every run</h2><div id="latency"></div></section>
`,
  );
}
