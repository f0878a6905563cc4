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
  // Text that streams in (a build's output, the log tail): appended as it comes, kept scrolled
  // to the end unless the reader scrolled up; ends when the server ends it or the page goes.
  function stream(pre, url) {
    if (pre.streaming) { return; }
    pre.streaming = true;
    var decoder = new TextDecoder(), controller = new AbortController();
    pre.abort = function () { controller.abort(); };
    fetch(url, {credentials: "same-origin", signal: controller.signal}).then(function (answer) {
      var reader = answer.body.getReader();
      function more() {
        return reader.read().then(function (chunk) {
          if (chunk.done) { return; }
          var atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
          pre.appendChild(document.createTextNode(decoder.decode(chunk.value, {stream: true})));
          if (pre.childNodes.length > 5000) { pre.removeChild(pre.firstChild); }  // bounded
          if (atEnd) { pre.scrollTop = pre.scrollHeight; }
          return more();
        });
      }
      return more();
    }).catch(function () { /* aborted, or the connection dropped */ });
  }

  // Live parts: each [data-live] region of an app's page is fetched again when the app has an
  // event (its stream: the h1's data-live-url); text that streams keeps streaming across it.
  var events = null, pending = null;
  var KINDS = ["app", "build", "release", "formation", "dyno", "config-vars", "addon", "addon-attachment", "domain",
               "collaborator", "link"];

  function refresh() {
    pending = null;
    fetch(location.href, {credentials: "same-origin"}).then(function (answer) { return answer.text(); }).then(function (html) {
      var fresh = new DOMParser().parseFromString(html, "text/html");
      document.querySelectorAll("[data-live][id]").forEach(function (old) {
        var next = fresh.getElementById(old.id);
        if (!next) { return; }
        old.querySelectorAll("pre[data-output-url][id]").forEach(function (pre) {
          var same = next.querySelector("#" + CSS.escape(pre.id));
          if (same) { same.replaceWith(pre); }  // the same build's output: it goes on streaming
        });
        old.replaceWith(document.adoptNode(next));
      });
      wire();
    }).catch(function () { /* the next event tries again */ });
  }

  function listen() {
    var live = document.querySelector("[data-live-url]");
    var url = live && document.querySelector("[data-live]") ? live.getAttribute("data-live-url") : null;
    if (events && events.url.indexOf(url) === -1) { events.close(); events = null; }
    if (!url || events) { return; }
    events = new EventSource(url);
    KINDS.forEach(function (kind) {
      events.addEventListener(kind, function () { if (!pending) { pending = setTimeout(refresh, 200); } });
    });
  }

  function wire() {
    document.querySelectorAll("pre[data-output-url]").forEach(function (pre) { stream(pre, pre.getAttribute("data-output-url")); });
    document.querySelectorAll("pre[data-log-url]").forEach(function (pre) { stream(pre, pre.getAttribute("data-log-url")); });
    listen();
    start();
  }

  // htmx swaps the body on boosted links: what the old page streamed stops.
  document.addEventListener("htmx:beforeSwap", function () {
    if (pending) { clearTimeout(pending); pending = null; }  // a refresh of the page that goes
    document.querySelectorAll("pre[data-log-url], pre[data-output-url]").forEach(function (pre) { if (pre.abort) { pre.abort(); } });
  });
  document.addEventListener("DOMContentLoaded", wire);
  document.addEventListener("htmx:afterSettle", wire);
})();
