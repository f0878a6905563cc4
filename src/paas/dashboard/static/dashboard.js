// The dashboard's own script (no inline script anywhere: the pages' policy forbids it).
// Metrics: the plots of a page with [data-metrics-url], drawn with uPlot, fetched again every 10 s.
(function () {
  "use strict";
  var SERIES = {
    "Response time": [["p50", function (p) { return p.response_time_ms && p.response_time_ms.p50; }],
                      ["p95", function (p) { return p.response_time_ms && p.response_time_ms.p95; }],
                      ["p99", function (p) { return p.response_time_ms && p.response_time_ms.p99; }]],
    "Requests": [["2xx", function (p) { return p.requests && p.requests["2xx"] / STEP(p); }],
                 ["4xx", function (p) { return p.requests && p.requests["4xx"] / STEP(p); }],
                 ["5xx", function (p) { return p.requests && p.requests["5xx"] / STEP(p); }]],
    "Memory": [["max", function (p) { return p.memory_bytes && p.memory_bytes.max / 1048576; }],
               ["mean", function (p) { return p.memory_bytes && p.memory_bytes.mean / 1048576; }]],
    "CPU": [["max", function (p) { return p.cpu && p.cpu.max; }],
            ["mean", function (p) { return p.cpu && p.cpu.mean; }]]
  };
  var COLOURS = ["#4b3fb3", "#d97706", "#b3261e"];
  var step = 10;
  function STEP() { return step; }

  function draw(root) {
    var since = document.querySelector("[data-metrics-since]");
    var url = root.getAttribute("data-metrics-url") + "&from=" + Math.floor(Date.now() / 1000 - Number(since ? since.value : 3600));
    fetch(url, {credentials: "same-origin"}).then(function (answer) { return answer.json(); }).then(function (data) {
      step = data.step;
      var times = data.points.map(function (p) { return Date.parse(p.time) / 1000; });
      root.querySelectorAll("figure[data-plot]").forEach(function (figure) {
        var series = SERIES[figure.getAttribute("data-plot")];
        var columns = series.map(function (s) {
          return data.points.map(function (p) { var v = s[1](p); return v === undefined || v === null || isNaN(v) ? null : v; });
        });
        var points = columns[0].filter(function (v) { return v !== null; }).length;
        figure.setAttribute("data-points", String(points));
        var box = figure.querySelector(".plot");
        if (box.plot) { box.plot.setData([times].concat(columns)); return; }
        box.plot = new uPlot({
          width: Math.max(box.clientWidth, 300), height: 180,
          series: [{}].concat(series.map(function (s, i) { return {label: s[0], stroke: COLOURS[i], spanGaps: false, points: {show: true, size: 4}}; })),
          axes: [{}, {size: 60}]
        }, [times].concat(columns), box);
      });
    }).catch(function () { /* the next round tries again */ });
  }

  function start() {
    var root = document.querySelector("[data-metrics-url]");
    if (!root || root.started) { return; }
    root.started = true;
    draw(root);
    var timer = setInterval(function () {
      if (!document.body.contains(root)) { clearInterval(timer); return; }  // left the page (htmx swaps bodies)
      draw(root);
    }, 10000);
    var since = document.querySelector("[data-metrics-since]");
    if (since) { since.addEventListener("change", function () {
      root.querySelectorAll(".plot").forEach(function (box) { if (box.plot) { box.plot.destroy(); box.plot = null; } });
      draw(root);
    }); }
  }
  document.addEventListener("DOMContentLoaded", start);
  document.addEventListener("htmx:afterSettle", start);
})();
