/**
 * Chart code shared by the live page and the bench report: plain browser JavaScript (no build step, no
 * framework), kept as a string so it ships inside the compiled package. It uses the global `uPlot`.
 * Written without template literals, so that it can live in this one.
 */
export const CHARTS_JS = String.raw`'use strict';
var socklabCharts = (function () {
  var COLORS = ['#1f6feb', '#d1242f', '#1a7f37', '#9a6700', '#8250df', '#bf3989'];

  function si(value) {
    if (value == null || !isFinite(value)) return '';
    var abs = Math.abs(value);
    if (abs >= 1e9) return (value / 1e9).toFixed(1) + 'G';
    if (abs >= 1e6) return (value / 1e6).toFixed(1) + 'M';
    if (abs >= 1e3) return (value / 1e3).toFixed(1) + 'k';
    return String(Math.round(value * 10) / 10);
  }

  function bytes(value) {
    if (value == null || !isFinite(value)) return '';
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    var i = 0;
    while (Math.abs(value) >= 1024 && i < units.length - 1) { value /= 1024; i++; }
    return (i === 0 ? String(Math.round(value)) : value.toFixed(1)) + ' ' + units[i];
  }

  /**
   * A legend value: uPlot passes null while the cursor is off the chart, which left the legend as a bare
   * "requests/s:". Show the series' latest value then, so the legend always says something.
   */
  function legendValue(format) {
    return function (u, v, seriesIdx) {
      if (v == null) {
        var column = u.data[seriesIdx] || [];
        for (var i = column.length - 1; i >= 0 && v == null; i--) v = column[i];
      }
      return v == null ? '–' : format(v);
    };
  }

  function clock(seconds) {
    var d = new Date(seconds * 1000);
    function two(n) { return (n < 10 ? '0' : '') + n; }
    return two(d.getHours()) + ':' + two(d.getMinutes()) + ':' + two(d.getSeconds());
  }

  function widthOf(el) {
    return Math.max(320, Math.floor(el.clientWidth || 640));
  }

  /**
   * Rates over time: data = { t: [seconds], series: [{ label, axis, values }] }. With windowSeconds, t is Unix
   * time and the x axis shows that many seconds up to now; without, t is seconds since the start.
   */
  function rateChart(el, data, height, windowSeconds) {
    var usesBytes = data.series.some(function (s) { return s.axis === 1; });
    var series = [{ label: windowSeconds ? 'time' : 'second', value: legendValue(function (v) { return windowSeconds ? clock(v) : v.toFixed(1) + ' s'; }) }].concat(data.series.map(function (s, i) {
      return { label: s.label, scale: s.axis === 1 ? 'bytes' : 'n', stroke: COLORS[i % COLORS.length], width: 2, points: { show: false }, value: legendValue(function (v) { return s.axis === 1 ? bytes(v) + '/s' : si(v); }) };
    }));
    var axes = [
      // uPlot's own time labels add a second line (the date) at each new minute, and with a short window
      // those date lines were drawn on top of each other: one line, HH:MM:SS, spaced for its width.
      windowSeconds ? { space: 90, values: function (u, vals) { return vals.map(clock); } } : { values: function (u, vals) { return vals.map(function (v) { return v + ' s'; }); } },
      { scale: 'n', values: function (u, vals) { return vals.map(si); }, size: 60 },
    ];
    if (usesBytes) axes.push({ scale: 'bytes', side: 1, grid: { show: false }, values: function (u, vals) { return vals.map(bytes); }, size: 80 });
    var upFromZero = function (u, min, max) { return [0, Math.max(1, (max || 0) * 1.1)]; };
    var xRange = function (u, min, max) {
      if (!windowSeconds) return [0, Math.max(1, max || 0)];
      var end = max == null ? Date.now() / 1000 : max;
      return [end - windowSeconds, end];
    };
    var opts = {
      width: widthOf(el),
      height: height || 260,
      series: series,
      scales: { x: { time: !!windowSeconds, range: xRange }, n: { range: upFromZero }, bytes: { range: upFromZero } },
      axes: axes,
      legend: { live: true },
    };
    return new uPlot(opts, toColumns(data), el);
  }

  function toColumns(data) {
    return [data.t].concat(data.series.map(function (s) { return s.values; }));
  }

  /** x of a percentile on the HDR plot: 1 / (1 - q), so 90%, 99%, 99.9% are evenly spaced on a log axis. */
  function hdrX(percentile) {
    return 1 / (1 - Math.min(percentile, 99.9999) / 100);
  }

  function percentileLabel(x) {
    var q = 100 * (1 - 1 / x);
    if (q <= 0) return '0%';
    var digits = Math.max(0, Math.round(Math.log10(x)) - 2);
    return q.toFixed(digits) + '%';
  }

  /**
   * The HDR percentile plot: latency (ms) against percentile. points = [[percentile, microseconds], …], or
   * curves = [{ label, points }, …] to overlay several (corrected and uncorrected, or runs being compared).
   */
  function percentileChart(el, points, height, curves) {
    curves = curves || [{ label: 'latency (ms)', points: points }];
    var byX = {};
    var xsAll = [];
    curves.forEach(function (curve, c) {
      var last = -Infinity;
      curve.points.forEach(function (p) {
        var x = hdrX(p[0]);
        if (x <= last) return;
        last = x;
        if (!(x in byX)) { byX[x] = []; xsAll.push(x); }
        byX[x][c] = p[1] / 1000;
      });
    });
    xsAll.sort(function (a, b) { return a - b; });
    var xs = xsAll;
    var columns = curves.map(function (curve, c) { return xs.map(function (x) { return byX[x][c] == null ? null : byX[x][c]; }); });
    var opts = {
      width: widthOf(el),
      height: height || 260,
      series: [{ label: 'percentile', value: legendValue(percentileLabel) }].concat(curves.map(function (curve, c) {
        return { label: curve.label, stroke: COLORS[c % COLORS.length], fill: c === 0 ? 'rgba(31,111,235,0.08)' : undefined, width: 2, spanGaps: true, points: { show: false }, value: legendValue(function (v) { return v.toFixed(3) + ' ms'; }) };
      })),
      scales: { x: { time: false, distr: 3 }, y: { range: function (u, min, max) { return [0, Math.max(0.001, max * 1.1)]; } } },
      axes: [
        { splits: function () { return [1, 10, 100, 1000, 10000, 100000, 1000000].filter(function (x) { return x <= Math.max(10, xs[xs.length - 1] || 10); }); }, values: function (u, vals) { return vals.map(percentileLabel); } },
        { values: function (u, vals) { return vals.map(function (v) { return v + ' ms'; }); }, size: 70 },
      ],
    };
    return new uPlot(opts, [xs].concat(columns), el);
  }

  function keepWidth(chart, el) {
    window.addEventListener('resize', function () { chart.setSize({ width: widthOf(el), height: chart.height }); });
  }

  return { rateChart: rateChart, percentileChart: percentileChart, toColumns: toColumns, keepWidth: keepWidth, si: si, bytes: bytes };
})();
`;
