// The message browser: each queue's messages (read without receiving
// them), its failure and dead-letter figures, a Redrive button on
// dead-letter queues, and the create and edit forms. Every change is a POST
// with the X-Qscale-Csrf header, which the dashboard requires.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const st = {
    browser: { peek: false, manage: false, failures: {} },
    queues: [],
    open: "",        // the queue whose messages are shown
    cursors: [0],    // the cursors of the pages shown so far
    next: 0,
    redriving: {},   // dlq name -> true while its task is watched
    confirming: "",  // the dlq whose Redrive asks for a confirmation
  };

  function el(tag, props, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (k === "text") e.textContent = v;
      else if (k === "class") e.className = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? "" : v);
    }
    e.append(...kids);
    return e;
  }

  async function getJSON(url) {
    const r = await fetch(url, { headers: { Accept: "application/json" } });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(body.error || r.status + " " + r.statusText);
    return body;
  }

  async function post(url, body) {
    const r = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Qscale-Csrf": "1" },
      body: JSON.stringify(body),
    });
    const out = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(out.error || r.status + " " + r.statusText);
    return out;
  }

  const q = (name) => "api/queues/" + encodeURIComponent(name);

  function say(msg, bad) {
    const o = $("browser-result");
    o.textContent = msg;
    o.className = bad ? "error" : "muted";
  }

  function age(ms) {
    const s = Math.floor(ms / 1000);
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s";
    if (s < 86400) return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
    return Math.floor(s / 86400) + " d " + Math.floor((s % 86400) / 3600) + " h";
  }

  function redrivePolicy(qi) {
    try { return JSON.parse(qi.attributes.RedrivePolicy || "null"); } catch { return null; }
  }

  // sourcesOf returns the queues whose dead-letter queue is qi.
  function sourcesOf(qi) {
    const arn = qi.attributes.QueueArn;
    return st.queues.filter((o) => { const p = redrivePolicy(o); return p && p.deadLetterTargetArn === arn; });
  }

  function nameOfArn(arn) { return arn ? arn.slice(arn.lastIndexOf(":") + 1) : ""; }

  // ---- the queues table ----

  async function refresh() {
    try {
      const [b, qs] = await Promise.all([getJSON("api/browser"), getJSON("api/queues")]);
      st.browser = b;
      st.queues = qs;
      $("browser-note").textContent = b.peek ? "" : b.peekUnavailable;
      $("browser-note").hidden = b.peek;
      $("create-queue-toggle").hidden = !b.manage;
      render();
    } catch (e) {
      say("cannot read the queues: " + e.message, true);
    }
  }

  function render() {
    const rows = st.queues.map((qi) => {
      const a = qi.attributes, f = (st.browser.failures || {})[qi.name] || {};
      const rp = redrivePolicy(qi), sources = sourcesOf(qi);
      let dead = "–";
      if (rp) dead = "to " + nameOfArn(rp.deadLetterTargetArn) + " after " + rp.maxReceiveCount + (Number(rp.maxReceiveCount) === 1 ? " receive" : " receives");
      if (sources.length) dead = "holds " + a.ApproximateNumberOfMessages + " from " + sources.map((s) => s.name).join(", ");
      const actions = el("td", { class: "actions" });
      if (st.browser.peek) actions.append(el("button", { type: "button", "data-browse": qi.name, text: "Messages", onclick: () => openQueue(qi.name) }));
      if (st.browser.manage) {
        actions.append(el("button", { type: "button", "data-edit": qi.name, text: "Edit", onclick: () => openEdit(qi.name) }));
        if (sources.length) {
          actions.append(redriveControl(qi.name, st.redriving[qi.name] || a.ApproximateNumberOfMessages === "0"));
        }
      }
      return el("tr", { "data-bq": qi.name },
        el("td", { text: qi.name }),
        el("td", { class: "num", text: a.ApproximateNumberOfMessages + " / " + a.ApproximateNumberOfMessagesNotVisible + " / " + a.ApproximateNumberOfMessagesDelayed }),
        el("td", { text: dead }),
        el("td", { class: "num", "data-failed": qi.name, text: f.deadLettered === undefined ? "–" : String(f.deadLettered) }),
        el("td", { class: "num", text: f.expired === undefined ? "–" : String(f.expired) }),
        el("td", { "data-redrive-status": qi.name, class: "muted", text: ($("browser-queues").querySelector(`[data-redrive-status="${CSS.escape(qi.name)}"]`) || {}).textContent || "" }),
        actions);
    });
    $("browser-queues").replaceChildren(...rows);
    $("browser-empty").hidden = st.queues.length > 0;
    for (const sel of [$("create-dlq"), $("edit-dlq")]) {
      const cur = sel.value;
      sel.replaceChildren(el("option", { value: "", text: "none" }),
        ...st.queues.map((o) => el("option", { value: o.attributes.QueueArn, text: o.name })));
      sel.value = cur;
    }
  }

  // ---- messages ----

  async function openQueue(name, after) {
    if (name !== st.open || after === undefined) { st.cursors = [0]; after = 0; }
    st.open = name;
    $("browser-messages").hidden = false;
    $("browser-queue-name").textContent = name;
    $("message-detail").hidden = true;
    try {
      const page = await getJSON(q(name) + "/messages?limit=20" + (after ? "&after=" + after : ""));
      st.next = page.next || 0;
      $("browser-next").disabled = !st.next;
      $("browser-counts").textContent = page.visible + " visible, " + page.inFlight + " in flight, " + page.delayed + " delayed";
      $("browser-rows").replaceChildren(...page.messages.map((m) => el("tr", { "data-id": m.id, class: "msg", onclick: () => openMessage(name, m.id) },
        el("td", { class: "id", text: m.id }),
        el("td", { text: m.state }),
        el("td", { class: "num receives", text: String(m.receiveCount) }),
        el("td", { class: "num", text: age(m.ageMillis) }),
        el("td", { class: "num", text: String(m.bodySize) }),
        el("td", { class: "body", text: m.body + (m.truncated ? "…" : "") }))));
      $("browser-none").hidden = page.messages.length > 0;
      say("");
    } catch (e) {
      $("browser-rows").replaceChildren();
      say(e.message, true);
    }
  }

  async function openMessage(name, id) {
    try {
      const m = await getJSON(q(name) + "/messages/" + encodeURIComponent(id));
      const rows = [["MessageId", m.id], ["State", m.state], ["ReceiveCount", String(m.receiveCount)],
        ["Sent", new Date(m.sentAt).toLocaleString() + " (" + age(m.ageMillis) + " ago)"],
        ["Visible at", m.visibleAt ? new Date(m.visibleAt).toLocaleString() : ""],
        ["First received", m.firstReceiveAt ? new Date(m.firstReceiveAt).toLocaleString() : ""],
        ["Group", m.groupId || ""], ["Deduplication id", m.dedupId || ""],
        ["Dead-letter source", nameOfArn(m.deadLetterSource)], ["MD5 of body", m.bodyMD5]];
      for (const [k, v] of Object.entries(m.attributes || {})) {
        rows.push(["attribute " + k, v.dataType + ": " + (v.binaryValue !== undefined ? "(binary, base64) " + v.binaryValue : v.stringValue)]);
      }
      $("message-attrs").replaceChildren(...rows.filter((r) => r[1]).flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]));
      $("message-body").textContent = m.body;
      $("message-detail").hidden = false;
    } catch (e) {
      say(e.message, true);
    }
  }

  // ---- redrive ----

  // redriveControl is a Redrive button that asks for a confirmation in
  // place before it starts the move task.
  function redriveControl(name, disabled) {
    const span = el("span", {});
    const ask = el("button", { type: "button", "data-redrive": name, text: "Redrive", disabled, onclick: () => {
      st.confirming = name;
      span.replaceChildren(...confirmButtons(name));
    } });
    span.append(...(st.confirming === name ? confirmButtons(name) : [ask]));
    return span;
  }

  function confirmButtons(name) {
    return [
      el("button", { type: "button", class: "danger confirm-redrive", text: "Move every message back to its queue",
        onclick: () => { st.confirming = ""; redrive(name); } }),
      el("button", { type: "button", text: "Cancel", onclick: () => { st.confirming = ""; render(); } }),
    ];
  }

  async function redrive(name) {
    st.redriving[name] = true;
    render();
    try {
      const tasks = await post(q(name) + "/redrive", {});
      show(name, tasks[0]);
      while (true) {
        await new Promise((r) => setTimeout(r, 500));
        const ts = await getJSON(q(name) + "/redrives");
        show(name, ts[0]);
        if (!ts[0] || ts[0].status !== "RUNNING") break;
      }
    } catch (e) {
      say("redrive of " + name + ": " + e.message, true);
    } finally {
      delete st.redriving[name];
      await refresh();
      if (st.open) openQueue(st.open, st.cursors[st.cursors.length - 1]);
    }
  }

  function show(name, t) {
    const cell = $("browser-queues").querySelector(`[data-redrive-status="${CSS.escape(name)}"]`);
    if (!cell || !t) return;
    cell.textContent = t.status.toLowerCase() + ": moved " + t.moved + " of " + t.toMove + (t.failure ? " (" + t.failure + ")" : "");
  }

  // ---- create and edit ----

  function redriveAttr(dlqArn, max) {
    return dlqArn ? JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: Number(max) || 5 }) : "";
  }

  async function createQueue(ev) {
    ev.preventDefault();
    const fifo = $("create-fifo").checked;
    let name = $("create-name").value.trim();
    if (fifo && !name.endsWith(".fifo")) name += ".fifo";
    const attrs = {};
    if ($("create-visibility").value) attrs.VisibilityTimeout = $("create-visibility").value;
    if ($("create-retention").value) attrs.MessageRetentionPeriod = String(Math.round(Number($("create-retention").value) * 3600));
    if (fifo) attrs.FifoQueue = "true";
    const rp = redriveAttr($("create-dlq").value, $("create-max").value);
    if (rp) attrs.RedrivePolicy = rp;
    try {
      await post("api/queues", { name, attributes: attrs });
      say("created " + name);
      $("create-queue-form").hidden = true;
      await refresh();
    } catch (e) {
      say("create " + name + ": " + e.message, true);
    }
  }

  function openEdit(name) {
    const qi = st.queues.find((o) => o.name === name);
    if (!qi) return;
    const rp = redrivePolicy(qi);
    $("edit-name").textContent = name;
    $("edit-visibility").value = qi.attributes.VisibilityTimeout;
    $("edit-retention").value = Number(qi.attributes.MessageRetentionPeriod) / 3600;
    $("edit-dlq").value = rp ? rp.deadLetterTargetArn : "";
    $("edit-max").value = rp ? rp.maxReceiveCount : 5;
    $("edit-queue-form").hidden = false;
  }

  async function editQueue(ev) {
    ev.preventDefault();
    const name = $("edit-name").textContent;
    const attrs = {
      VisibilityTimeout: $("edit-visibility").value,
      MessageRetentionPeriod: String(Math.round(Number($("edit-retention").value) * 3600)),
      RedrivePolicy: redriveAttr($("edit-dlq").value, $("edit-max").value),
    };
    try {
      await post(q(name) + "/attributes", { attributes: attrs });
      say("updated " + name);
      $("edit-queue-form").hidden = true;
      await refresh();
    } catch (e) {
      say("edit " + name + ": " + e.message, true);
    }
  }

  function init() {
    $("create-queue-toggle").addEventListener("click", () => { $("create-queue-form").hidden = !$("create-queue-form").hidden; });
    $("create-queue-form").addEventListener("submit", createQueue);
    $("edit-queue-form").addEventListener("submit", editQueue);
    $("edit-cancel").addEventListener("click", () => { $("edit-queue-form").hidden = true; });
    $("browser-refresh").addEventListener("click", () => openQueue(st.open, st.cursors[st.cursors.length - 1]));
    $("browser-next").addEventListener("click", () => { st.cursors.push(st.next); openQueue(st.open, st.next); });
    $("browser-first").addEventListener("click", () => openQueue(st.open));
    $("message-close").addEventListener("click", () => { $("message-detail").hidden = true; });
    refresh();
    setInterval(refresh, 5000);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
