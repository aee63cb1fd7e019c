// The dashboard's failure views: a chart of handler failures and
// dead-letter moves, the warning banner and the "last errors" panel. It
// reads the "failures" part of each sample, which app.js passes on as the
// "qscale:sample" event; a backend that does not report failures leaves
// all three hidden.
"use strict";

(function () {
  const q = window.qscale;
  if (!q) return;

  q.addChart("failures", {
    fields: ["failed", "deadLettered"],
    series: [
      { label: "handler failures / s", stroke: "#dc2626", width: 2 },
      { label: "moved to dead-letter queue / s", stroke: "#7c3aed", width: 2 },
    ],
  });

  function $(id) { return document.getElementById(id); }

  const time = q.clockTime;

  let shownErrors = "";

  function show(f) {
    $("failures-figure").hidden = false;
    $("errors-panel").hidden = false;

    const banner = $("warnings");
    const warnings = f.warnings || [];
    banner.replaceChildren(...warnings.map((w) => q.el("p", { class: "warning", "data-kind": w.kind },
      q.el("b", { text: "Warning: " }), w.text, q.el("span", { class: "muted", text: " (since " + time(w.since) + ")" }))));
    banner.hidden = warnings.length === 0;

    let totals = q.fmt(f.failed, 0) + " failed, " + q.fmt(f.succeeded, 0) + " succeeded";
    if (f.deadLetterQueue) {
      // Amazon SQS does not count its moves: then only the depth shows.
      totals += f.deadLettered > 0
        ? "; " + q.fmt(f.deadLettered, 0) + " moved to " + f.deadLetterQueue + " (it holds " + q.fmt(f.deadLetterMessages, 0) + ")"
        : "; dead-letter queue " + f.deadLetterQueue + " holds " + q.fmt(f.deadLetterMessages, 0);
    }
    $("failure-totals").textContent = totals;

    const errs = (f.lastErrors || []).slice().reverse(); // newest first
    const key = JSON.stringify(errs);
    if (key === shownErrors) return; // keep an opened stderr open
    shownErrors = key;
    $("last-errors").replaceChildren(...errs.map((e) => {
      const code = e.signal ? e.signal : e.exit_code === undefined || e.exit_code === null ? "" : String(e.exit_code);
      const detail = q.el("td", { class: "error-text" }, q.el("span", { text: e.error }));
      if (e.stderr) {
        detail.append(q.el("details", null, q.el("summary", { text: "stderr" }), q.el("pre", { text: e.stderr })));
      }
      return q.el("tr", null,
        q.el("td", { text: time(e.time) }),
        q.el("td", { text: e.worker || "" }),
        q.el("td", { class: "num", text: code }),
        detail);
    }));
    $("no-errors").hidden = errs.length > 0;
  }

  document.addEventListener("qscale:sample", (ev) => {
    if (ev.detail && ev.detail.failures) show(ev.detail.failures);
  });
})();
