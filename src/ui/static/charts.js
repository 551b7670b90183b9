// Draws the uPlot charts of the dashboard and the statistics pages from their
// `data-chart` attribute (JSON written by the server: x values, named series on their
// own scales, the viewer's zone). No inline script: the CSP forbids it.
(function () {
  "use strict";
  var COLOURS = ["#0b5cad", "#e07b00", "#1e7b34", "#b3261e"];

  function draw(el) {
    var data = JSON.parse(el.getAttribute("data-chart"));
    var scales = { x: { time: data.time } };
    var axes = [{}];
    var series = [{}];
    var seen = [];
    data.series.forEach(function (s, i) {
      if (seen.indexOf(s.scale) < 0) {
        seen.push(s.scale);
        scales[s.scale] = { auto: true, range: function (u, min, max) { return [0, max > 0 ? max * 1.1 : 1]; } };
        axes.push({ scale: s.scale, side: seen.length === 1 ? 3 : 1, grid: { show: seen.length === 1 }, label: s.scale, size: 60 });
      }
      series.push({ label: s.label, scale: s.scale, stroke: COLOURS[i % COLOURS.length], width: 2, points: { show: data.x.length < 60 } });
    });
    var opts = {
      width: el.clientWidth || 600,
      height: 240,
      scales: scales,
      axes: axes,
      series: series,
      legend: { live: true }
    };
    if (data.time) {
      opts.tzDate = function (ts) { return uPlot.tzDate(new Date(ts * 1000), data.zone); };
    } else {
      axes[0] = { values: function (u, vals) { return vals.map(function (v) { return String(v).padStart(2, "0") + ":00"; }); } };
    }
    var plot = new uPlot(opts, [data.x].concat(data.series.map(function (s) { return s.values; })), el);
    window.addEventListener("resize", function () { plot.setSize({ width: el.clientWidth, height: 240 }); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (typeof uPlot === "undefined") return;
    document.querySelectorAll("[data-chart]").forEach(draw);
  });
})();
