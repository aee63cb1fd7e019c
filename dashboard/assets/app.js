// The qscale dashboard page: reads /api/events (server-sent events) and draws
// uPlot charts. No framework, no build step.
"use strict";

(function () {
  const FIELDS = ["visible", "inFlight", "delayed", "sent", "received", "deleted",
    "backlogPerWorker", "target", "desired", "running", "starting", "processingMs",
    "failed", "deadLettered"];
  const MAX_DECISIONS = 300;

  // History as the server sends it: coarse (one point a minute, means) and
  // fine (one a second). Live points are appended to fine; points older than
  // fineWindow move into coarse, a minute at a time, as on the server.
  const hist = {
    coarseStep: 60, fineWindow: 3600, keep: 86400,
    coarse: emptySeries(), fine: emptySeries(),
    acc: null, // {t, n: {}, sum: {}} the minute being folded into coarse
  };
  const state = { range: 3600, queue: "", decisions: [], queues: [], samples: 0,
    features: { send: true, purge: true, counters: true, pause: false }, control: { paused: false } };
  const charts = {};

  function emptySeries() {
    const s = { t: [], v: {} };
    for (const f of FIELDS) s.v[f] = [];
    return s;
  }

  function $(id) { return document.getElementById(id); }

  function el(tag, props, ...kids) {
    const e = document.createElement(tag);
    if (props) for (const [k, v] of Object.entries(props)) {
      if (k === "class") e.className = v; else if (k === "text") e.textContent = v; else e.setAttribute(k, v);
    }
    for (const k of kids) e.append(k);
    return e;
  }

  // ---- history ----

  function loadHistory(h) {
    hist.coarseStep = h.coarseStep; hist.fineWindow = h.fineWindow; hist.keep = h.keep;
    hist.coarse = { t: h.coarse.t.slice(), v: {} };
    hist.fine = { t: h.fine.t.slice(), v: {} };
    for (const f of FIELDS) {
      hist.coarse.v[f] = (h.coarse.mean[f] || []).slice();
      hist.fine.v[f] = (h.fine.v[f] || []).slice();
    }
    hist.acc = null;
  }

  function addPoint(p) {
    const n = hist.fine.t.length;
    if (n > 0 && p.t <= hist.fine.t[n - 1]) return false; // already have it
    hist.fine.t.push(p.t);
    for (const f of FIELDS) hist.fine.v[f].push(p.v[f] === undefined ? null : p.v[f]);
    compact(p.t);
    return true;
  }

  // compact moves fine points older than fineWindow into minute means and
  // drops coarse points older than keep, so a page left open stays small.
  function compact(now) {
    const fine = hist.fine;
    let cut = 0;
    while (cut < fine.t.length && fine.t[cut] <= now - hist.fineWindow) {
      const t = fine.t[cut];
      const step = t - (t % hist.coarseStep);
      if (hist.acc && hist.acc.t !== step) flushAcc();
      if (!hist.acc) hist.acc = { t: step, n: {}, sum: {} };
      for (const f of FIELDS) {
        const v = fine.v[f][cut];
        if (v === null) continue;
        hist.acc.n[f] = (hist.acc.n[f] || 0) + 1;
        hist.acc.sum[f] = (hist.acc.sum[f] || 0) + v;
      }
      cut++;
    }
    if (cut > 0) {
      fine.t.splice(0, cut);
      for (const f of FIELDS) fine.v[f].splice(0, cut);
    }
    const coarse = hist.coarse;
    let drop = 0;
    while (drop < coarse.t.length && coarse.t[drop] < now - hist.keep) drop++;
    if (drop > 0) {
      coarse.t.splice(0, drop);
      for (const f of FIELDS) coarse.v[f].splice(0, drop);
    }
  }

  function flushAcc() {
    const a = hist.acc;
    const c = hist.coarse;
    if (c.t.length === 0 || c.t[c.t.length - 1] < a.t) {
      c.t.push(a.t);
      for (const f of FIELDS) c.v[f].push(a.n[f] ? a.sum[f] / a.n[f] : null);
    }
    hist.acc = null;
  }

  // series returns [t, ...fields] over coarse and fine points.
  function series(fields) {
    const t = hist.coarse.t.concat(hist.fine.t);
    const out = [t];
    for (const f of fields) out.push(hist.coarse.v[f].concat(hist.fine.v[f]));
    return out;
  }

  // ---- charts ----

  const CHARTS = {
    messages: {
      whole: true,
      fields: ["visible", "inFlight", "delayed"],
      series: [
        { label: "visible", stroke: "#2563eb", width: 2 },
        { label: "in flight", stroke: "#f59e0b", width: 2 },
        { label: "delayed", stroke: "#8b5cf6", width: 2 },
      ],
    },
    backlog: {
      fields: ["backlogPerWorker", "target"],
      series: [
        { label: "backlog / worker", stroke: "#2563eb", width: 2 },
        { label: "target", stroke: "#dc2626", width: 2, dash: [6, 4] },
      ],
    },
    workers: {
      whole: true,
      fields: ["desired", "running", "starting"],
      series: [
        { label: "desired", stroke: "#dc2626", width: 2, paths: stepped() },
        { label: "running", stroke: "#16a34a", width: 2, paths: stepped() },
        { label: "starting", stroke: "#f59e0b", width: 1, paths: stepped() },
      ],
    },
    throughput: {
      fields: ["sent", "deleted", "received"],
      series: [
        { label: "sent / s", stroke: "#2563eb", width: 2 },
        { label: "deleted / s", stroke: "#16a34a", width: 2 },
        { label: "received / s", stroke: "#9ca3af", width: 1 },
      ],
    },
  };

  // Tick steps of the time axis, in seconds: never less than a second,
  // which the history does not resolve.
  const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
    86400, 172800, 604800];

  // Tick steps for charts of counts: whole numbers only.
  const WHOLE = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 1e7, 1e8];

  function stepped() {
    return uPlot.paths && uPlot.paths.stepped ? uPlot.paths.stepped({ align: 1 }) : undefined;
  }

  function xRange(u, dmin, dmax) {
    if (dmin == null || dmax == null) {
      const now = Date.now() / 1000;
      return [now - state.range, now];
    }
    // At least a minute, so the first seconds do not stretch over the
    // whole chart.
    const lo = Math.max(dmin, dmax - state.range);
    return dmax - lo >= 60 ? [lo, dmax] : [dmax - 60, dmax];
  }

  // ---- axes ----

  // yTick writes a value of the y axis short enough to read at a glance:
  // 950, 1,500, 12k, 2.5M (uPlot's default cuts 10,000 to "0,000" in a
  // narrow axis).
  function yTick(v) {
    if (v === null || v === undefined) return "";
    const a = Math.abs(v);
    const short = (x, unit) => Number(x.toPrecision(3)).toLocaleString("en-US", { maximumFractionDigits: 1 }) + unit;
    if (a >= 1e9) return short(v / 1e9, "G");
    if (a >= 1e6) return short(v / 1e6, "M");
    if (a >= 1e4) return short(v / 1e3, "k");
    return Number(v.toPrecision(4)).toLocaleString("en-US", { maximumFractionDigits: 3 });
  }

  // xTicks writes the time axis in 24-hour time, with seconds only when
  // the ticks are less than a minute apart and the date when they are a
  // day or more apart.
  function xTicks(u, splits, axisIdx, space, incr) {
    const pad = (n) => String(n).padStart(2, "0");
    return splits.map((t) => {
      const d = new Date(t * 1000);
      if (incr >= 86400) return d.toLocaleDateString("en-US", { month: "short", day: "numeric" });
      const hm = pad(d.getHours()) + ":" + pad(d.getMinutes());
      return incr < 60 ? hm + ":" + pad(d.getSeconds()) : hm;
    });
  }

  // axisSize fits the y axis to its longest label, so none is cut.
  function axisSize(u, values, axisIdx, cycleNum) {
    const axis = u.axes[axisIdx];
    if (cycleNum > 1) return axis._size;
    let size = axis.ticks.size + axis.gap;
    const longest = (values || []).reduce((acc, v) => (String(v).length > acc.length ? String(v) : acc), "");
    if (longest !== "") {
      u.ctx.font = axis.font[0];
      size += u.ctx.measureText(longest).width / (window.devicePixelRatio || 1);
    }
    return Math.ceil(size) + 4;
  }

  function makeCharts() {
    for (const [name, def] of Object.entries(CHARTS)) {
      const box = $("chart-" + name);
      if (!box) continue;
      const y = { size: axisSize, values: (u, splits) => splits.map(yTick) };
      if (def.whole) y.incrs = WHOLE;
      const opts = {
        width: Math.max(box.clientWidth, 200),
        height: 180,
        cursor: { drag: { x: false, y: false } },
        legend: { live: true },
        scales: {
          x: { time: true, range: xRange },
          y: { range: (u, lo, hi) => [0, Math.max(hi == null ? 1 : hi * 1.1, 1)] },
        },
        series: [{}].concat(def.series.map((s) => Object.assign({ spanGaps: false, points: { show: false } }, s))),
        // Time labels are about 40 px wide: 80 px between ticks keeps
        // them apart.
        axes: [{ space: 80, incrs: TIME_STEPS, values: xTicks }, y],
      };
      charts[name] = new uPlot(opts, series(def.fields), box);
    }
    const ro = new ResizeObserver(() => {
      for (const [name, u] of Object.entries(charts)) {
        const w = Math.max($("chart-" + name).clientWidth, 200);
        if (w !== u.width) u.setSize({ width: w, height: 180 });
      }
    });
    for (const name of Object.keys(charts)) ro.observe($("chart-" + name));
  }

  function redraw() {
    for (const [name, def] of Object.entries(CHARTS)) if (charts[name]) charts[name].setData(series(def.fields));
  }

  // ---- stats, queues, workers ----

  function fmt(v, digits) {
    if (v === null || v === undefined || Number.isNaN(v)) return "–";
    return Number(v).toLocaleString(undefined, { maximumFractionDigits: digits === undefined ? 1 : digits });
  }

  function showSample(s) {
    const v = s.point.v;
    state.queue = s.queue;
    $("charted").textContent = s.queue ? "queue " + s.queue
    : s.charted && s.charted.length ? "queues " + s.charted.join(", ") : "all queues";
    $("stat-visible").textContent = fmt(v.visible, 0);
    $("stat-inflight").textContent = fmt(v.inFlight, 0);
    $("stat-delayed").textContent = fmt(v.delayed, 0);
    $("stat-backlog").textContent = fmt(v.backlogPerWorker, 1);
    $("stat-target").textContent = v.target === null ? "" : "(target " + fmt(v.target, 1) + ")";
    $("stat-workers").textContent = fmt(v.running, 0) + " / " + fmt(v.desired, 0);
    $("stat-starting").textContent = fmt(v.starting, 0);
    $("stat-sent").textContent = fmt(v.sent, 1);
    $("stat-deleted").textContent = fmt(v.deleted, 1);
    $("stat-proc").textContent = v.processingMs === null ? "–" : fmt(v.processingMs, 0) + " ms";
    for (const q of s.queues) {
      const row = queueRows.get(q.name);
      if (!row) { if (!state.queues.some((x) => x.name === q.name)) loadQueues(); continue; }
      row.cells.visible.textContent = fmt(q.visible, 0);
      row.cells.inFlight.textContent = fmt(q.inFlight, 0);
      row.cells.delayed.textContent = fmt(q.delayed, 0);
      row.cells.sent.textContent = fmt(q.sent, 0);
      row.cells.deleted.textContent = fmt(q.deleted, 0);
    }
    showWorkers(s.workers);
    if ($("send-queue").value === "" && s.queue) $("send-queue").value = s.queue;
  }

  function showWorkers(ws) {
    const body = $("workers");
    body.replaceChildren(...ws.map((w) => el("tr", null,
      el("td", { text: w.id }), el("td", { class: "num", text: w.pid ? String(w.pid) : "" }),
      el("td", { text: w.state }), el("td", { text: since(w.since) }))));
    $("no-workers").hidden = ws.length > 0;
  }

  // clockTime writes a time as 17:06:46, as the charts and the decisions'
  // sentences do.
  function clockTime(t) {
    const d = new Date(t);
    return Number.isNaN(d.getTime()) ? "" : d.toLocaleTimeString("en-GB");
  }

  function since(t) {
    const d = (Date.now() - Date.parse(t)) / 1000;
    if (!(d >= 0)) return "";
    if (d < 60) return Math.round(d) + " s";
    if (d < 3600) return Math.round(d / 60) + " min";
    return (d / 3600).toFixed(1) + " h";
  }

  const queueRows = new Map();
  let loadingQueues = false;

  async function loadQueues() {
    if (loadingQueues) return;
    loadingQueues = true;
    try {
      const r = await fetch("api/queues", { headers: { Accept: "application/json" } });
      if (!r.ok) throw new Error((await r.json()).error || r.statusText);
      state.queues = await r.json();
      showQueues();
      $("queues-error").textContent = "";
    } catch (e) {
      $("queues-error").textContent = "cannot list queues: " + e.message;
    } finally {
      loadingQueues = false;
    }
  }

  function showQueues() {
    const body = $("queues");
    queueRows.clear();
    const rows = state.queues.map((q) => {
      const a = q.attributes || {};
      const cells = {
        visible: el("td", { class: "num", text: a.ApproximateNumberOfMessages || "0" }),
        inFlight: el("td", { class: "num", text: a.ApproximateNumberOfMessagesNotVisible || "0" }),
        delayed: el("td", { class: "num", text: a.ApproximateNumberOfMessagesDelayed || "0" }),
        sent: el("td", { class: "num counters", text: "" }),
        deleted: el("td", { class: "num counters", text: "" }),
      };
      const dl = el("dl");
      for (const k of Object.keys(a).sort()) dl.append(el("dt", { text: k }), el("dd", { text: a[k] }));
      if (q.url) dl.append(el("dt", { text: "URL" }), el("dd", { text: q.url }));
      const purge = el("td", null, state.features.purge ? purgeControl(q.name) : "");
      const tr = el("tr", { "data-queue": q.name }, el("td", { text: q.name }), cells.visible, cells.inFlight,
        cells.delayed, cells.sent, cells.deleted,
        el("td", null, el("details", null, el("summary", { text: Object.keys(a).length + " attributes" }), dl)), purge);
      queueRows.set(q.name, { tr, cells });
      return tr;
    });
    body.replaceChildren(...rows);
    for (const e of body.querySelectorAll(".counters")) e.hidden = !state.features.counters;
    const sel = $("send-queue");
    const cur = sel.value || state.queue;
    sel.replaceChildren(...state.queues.map((q) => el("option", { value: q.name, text: q.name })));
    if (state.queues.some((q) => q.name === cur)) sel.value = cur;
  }

  // purgeControl is a button that asks for a confirmation in place before
  // purging.
  function purgeControl(name) {
    const box = el("span");
    const ask = el("button", { type: "button", class: "danger purge", text: "Purge…" });
    const msg = el("span", { class: "muted" });
    ask.addEventListener("click", () => {
      const yes = el("button", { type: "button", class: "danger confirm-purge", text: "Purge every message of " + name });
      const no = el("button", { type: "button", text: "Cancel" });
      no.addEventListener("click", () => box.replaceChildren(ask, msg));
      yes.addEventListener("click", async () => {
        yes.disabled = true;
        try {
          await post("api/queues/" + encodeURIComponent(name) + "/purge", {});
          msg.textContent = " purged";
        } catch (e) {
          msg.textContent = " " + e.message;
        }
        box.replaceChildren(ask, msg);
      });
      box.replaceChildren(yes, " ", no);
    });
    box.append(ask, msg);
    return box;
  }

  async function post(url, body) {
    const r = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Qscale-Csrf": "1" },
      body: JSON.stringify(body),
    });
    let data = {};
    try { data = await r.json(); } catch (e) { /* not JSON */ }
    if (!r.ok) throw new Error(data.error || r.status + " " + r.statusText);
    return data;
  }

  // ---- decisions ----

  // addDecision adds an entry of the dashboard's decision log, or replaces
  // the one with its number: a run of holds is one entry, updated at each
  // tick ("holding at 3 since 12:30:05 (42 ticks)").
  function addDecision(d) {
    const key = d.entry || d.seq;
    const i = state.decisions.findIndex((x) => (x.entry || x.seq) === key);
    if (i >= 0) {
      if (state.decisions[i].seq === d.seq && state.decisions[i].ticks === d.ticks) return false;
      state.decisions[i] = d;
      return true;
    }
    state.decisions.push(d);
    state.decisions.sort((a, b) => (b.entry || b.seq) - (a.entry || a.seq));
    if (state.decisions.length > MAX_DECISIONS) state.decisions.length = MAX_DECISIONS;
    return true;
  }

  function showDecisions() {
    const only = $("changes-only").checked;
    const rows = [];
    for (const d of state.decisions) {
      const changed = d.from !== d.to;
      if (only && !changed && !d.error) continue;
      const cls = d.error ? "failed" : changed ? "change" : "";
      const reason = d.text || (d.reason + (d.error ? " — error: " + d.error : ""));
      const from = clockTime(d.since), to = clockTime(d.time);
      const when = d.ticks > 1 && from !== to ? from + "–" + to : to;
      rows.push(el("tr", { class: cls, title: proposals(d) },
        el("td", { text: when }),
        el("td", { class: "num", text: changed ? d.from + " → " + d.to : String(d.to) }),
        el("td", { text: d.rule }),
        el("td", { text: reason })));
    }
    $("decisions").replaceChildren(...rows);
    $("no-decisions").hidden = rows.length > 0;
  }

  function proposals(d) {
    const o = d.observation || {};
    const q = o.queue || {}, f = o.fleet || {};
    const lines = ["visible " + q.visible + ", in flight " + q.inFlight + ", delayed " + q.delayed +
      "; running " + f.running + ", starting " + f.starting + ", desired " + f.desired +
      "; backlog/worker " + fmt(o.backlogPerWorker, 2)];
    if (d.reason) lines.push(d.rule + ": " + d.reason);
    for (const p of d.proposals || []) lines.push(p.policy + ": " + p.desired + " (" + p.rule + ") " + p.reason);
    return lines.join("\n");
  }

  // ---- live updates ----

  let redrawPending = false;
  function scheduleRedraw() {
    if (redrawPending) return;
    redrawPending = true;
    requestAnimationFrame(() => { redrawPending = false; redraw(); });
  }

  let decisionsPending = false;
  function scheduleDecisions() {
    if (decisionsPending) return;
    decisionsPending = true;
    setTimeout(() => { decisionsPending = false; showDecisions(); }, 100);
  }

  function connect() {
    const es = new EventSource("api/events");
    es.addEventListener("open", () => { $("conn").textContent = "live"; $("conn").className = "conn on"; });
    es.addEventListener("error", () => { $("conn").textContent = "reconnecting…"; $("conn").className = "conn off"; });
    es.addEventListener("history", (e) => {
      // A (re)connected stream sends the recent decisions again.
      state.decisions = [];
      loadHistory(JSON.parse(e.data));
      scheduleRedraw();
    });
    es.addEventListener("sample", (e) => {
      const s = JSON.parse(e.data);
      state.samples++;
      addPoint(s.point);
      showSample(s);
      scheduleRedraw();
      document.dispatchEvent(new CustomEvent("qscale:sample", { detail: s }));
    });
    es.addEventListener("decision", (e) => {
      if (addDecision(JSON.parse(e.data))) scheduleDecisions();
    });
  }

  function init() {
    makeCharts();
    for (const b of document.querySelectorAll(".range button")) {
      b.addEventListener("click", () => {
        state.range = Number(b.dataset.range);
        for (const o of document.querySelectorAll(".range button")) o.classList.toggle("on", o === b);
        redraw();
      });
    }
    $("changes-only").addEventListener("change", showDecisions);
    $("send-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const q = $("send-queue").value;
      const out = $("send-result");
      $("send-button").disabled = true;
      out.textContent = "sending…";
      try {
        const r = await post("api/queues/" + encodeURIComponent(q) + "/send", { body: $("send-body").value });
        out.textContent = "sent " + r.messageId;
      } catch (err) {
        out.textContent = "not sent: " + err.message;
      } finally {
        $("send-button").disabled = false;
      }
    });
    $("pause-button").addEventListener("click", async () => {
      const pause = !state.control.paused;
      $("pause-button").disabled = true;
      try {
        showControl(await post(pause ? "api/pause" : "api/resume", {}));
        $("pause-result").textContent = "";
      } catch (err) {
        $("pause-result").textContent = (pause ? "not paused: " : "not resumed: ") + err.message;
      } finally {
        $("pause-button").disabled = false;
      }
    });
    loadControl();
    setInterval(loadControl, 5000);
    loadQueues();
    setInterval(loadQueues, 10000);
    connect();
  }

  // The backend's features decide which parts the page shows: an
  // autoscaler over a queue that qscale does not hold has no send, purge
  // or counters, and one with a controller can be paused.
  async function loadControl() {
    try {
      const r = await fetch("api/control", { headers: { Accept: "application/json" } });
      if (r.ok) showControl(await r.json());
    } catch (e) { /* the event stream shows the connection state */ }
  }

  function showControl(c) {
    const had = state.features.purge;
    state.control = c;
    state.features = c.features;
    $("send-panel").hidden = !c.features.send;
    for (const e of document.querySelectorAll(".counters")) e.hidden = !c.features.counters;
    $("pause-panel").hidden = !c.features.pause;
    $("pause-panel").classList.toggle("paused", c.paused);
    $("pause-state").textContent = c.paused ? "autoscaler paused" + (c.pausedBy ? " by " + c.pausedBy : "") + ": it observes and explains, and changes nothing" : "autoscaler running";
    $("pause-button").textContent = c.paused ? "Resume autoscaler" : "Pause autoscaler";
    if (had !== c.features.purge) showQueues();
  }

  // For tests and the curious: the page's state and charts.
  // addChart lets another script of the page add a chart before the page
  // starts: def is {fields, series, whole} as in CHARTS, drawn in the
  // element #chart-<name>.
  function addChart(name, def) { CHARTS[name] = def; }

  window.qscale = { hist, state, charts, addPoint, addChart, yTick, fmt, el, clockTime };
  document.addEventListener("DOMContentLoaded", init);
})();
