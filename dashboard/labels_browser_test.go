package dashboard_test

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/qscale/qscale/internal/browsertest"
)

// tickReport reads every chart's axis labels as uPlot drew them, with the
// room the y axis has and the width of its widest label, and whether two
// neighbouring time labels overlap.
const tickReport = `(() => {
	const out = {};
	const dpr = window.devicePixelRatio || 1;
	for (const [name, u] of Object.entries(window.qscale.charts)) {
		const x = u.axes[0], y = u.axes[1];
		u.ctx.font = y.font[0];
		const yv = (y._values || []).map(String);
		const yw = Math.max(0, ...yv.map((v) => u.ctx.measureText(v).width / dpr));
		u.ctx.font = x.font[0];
		const xs = (x._splits || []).map((t, i) => ({ pos: u.valToPos(t, "x"), text: String(x._values[i] ?? ""),
			w: u.ctx.measureText(String(x._values[i] ?? "")).width / dpr }));
		let overlap = "";
		for (let i = 1; i < xs.length; i++) {
			if (xs[i].text && xs[i - 1].text && xs[i].pos - xs[i - 1].pos < (xs[i].w + xs[i - 1].w) / 2 + 4) {
				overlap = xs[i - 1].text + " / " + xs[i].text;
			}
		}
		out[name] = { y: yv, yWidest: yw, yRoom: y._size - y.ticks.size - y.gap, x: xs.map((l) => l.text), overlap };
	}
	return JSON.stringify(out);
})()`

type axisLabels struct {
	Y       []string
	YWidest float64
	YRoom   float64
	X       []string
	Overlap string
}

// The charts' axis labels stay readable: a count of 12,000 reads "12k"
// (not "0,000" cut by a narrow axis) and fits its axis, and the time labels
// never run into each other ("12:30p12:31pm"), over 5 minutes, an hour and
// a day.
func TestBrowserChartLabels(t *testing.T) {
	t.Parallel()
	ctx, consoleMessages := browsertest.Start(t)
	s := setup(t, setupOptions{})
	if err := chromedp.Do(ctx, chromedp.Navigate(s.srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#chart-messages canvas"))); err != nil {
		t.Fatal(err)
	}
	// The first three seconds of a run: no second is labelled twice.
	end := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC).Unix()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
		for (let t = `+jsInt(end-86400-3)+`; t < `+jsInt(end-86400)+`; t++) window.qscale.addPoint({ t, v: { visible: 3, running: 1, desired: 1 } });
		return true; })()`)); err != nil {
		t.Fatal(err)
	}
	labels(t, ctx, "300", "3 s")
	// A day of points, the last hour a second apart: the backlog climbs to
	// 12,000 and the throughput to 2,500 messages a second.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
		const end = `+jsInt(end)+`;
		const add = (t, f) => window.qscale.addPoint({ t, v: { visible: 12000 * f, inFlight: 800 * f, delayed: 0,
			sent: 2500 * f, deleted: 2400 * f, received: 2450 * f, backlogPerWorker: 1200 * f, target: 100,
			desired: 10, running: 10, starting: 0, failed: 30 * f, deadLettered: 3 * f } });
		for (let t = end - 86400; t < end - 3600; t += 60) add(t, (t - end + 86400) / 86400);
		for (let t = end - 3600; t <= end; t++) add(t, (t - end + 86400) / 86400);
		return true;
	})()`)); err != nil {
		t.Fatal(err)
	}
	for _, rng := range []string{"300", "3600", "86400"} {
		charts := labels(t, ctx, rng, "a day")
		if m := charts["messages"]; rng == "3600" && !strings.HasSuffix(m.Y[len(m.Y)-1], "k") {
			t.Errorf("messages y labels %q, want thousands as k", m.Y)
		}
	}
	browsertest.CheckConsole(t, consoleMessages())
}

// labels shows the range rng (seconds) and checks every chart's labels.
func labels(t *testing.T, ctx context.Context, rng, data string) map[string]axisLabels {
	t.Helper()
	times := regexp.MustCompile(`^(\d\d:\d\d(:\d\d)?|[A-Z][a-z]{2} \d{1,2})$`)
	{
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`button[data-range="`+rng+`"]`))); err != nil {
			t.Fatal(err)
		}
		raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(async () => {
			await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 50)));
			return `+tickReport+`; })()`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		var charts map[string]axisLabels
		if err := json.Unmarshal([]byte(raw), &charts); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"messages", "backlog", "workers", "throughput"} {
			c, ok := charts[name]
			if !ok || len(c.Y) < 2 || len(c.X) < 2 {
				t.Fatalf("%s, range %s, chart %s: labels %+v", data, rng, name, c)
			}
			if c.YWidest > c.YRoom {
				t.Errorf("%s, range %s, chart %s: y labels %q are %.0f px wide, the axis has %.0f", data, rng, name, c.Y, c.YWidest, c.YRoom)
			}
			for _, l := range c.Y {
				if strings.HasPrefix(l, "0,") || len(l) > 6 {
					t.Errorf("%s, range %s, chart %s: y label %q", data, rng, name, l)
				}
			}
			if c.Overlap != "" {
				t.Errorf("%s, range %s, chart %s: time labels overlap: %s (all: %q)", data, rng, name, c.Overlap, c.X)
			}
			seen := map[string]bool{}
			for _, l := range c.X {
				if l != "" && !times.MatchString(l) {
					t.Errorf("%s, range %s, chart %s: time label %q", data, rng, name, l)
				}
				if seen[l] && rng != "86400" { // a day shows 12:00 of both days
					t.Errorf("%s, range %s, chart %s: time label %q twice in %q", data, rng, name, l, c.X)
				}
				seen[l] = true
			}
		}
		t.Logf("%s, range %s: messages y %q, x %q", data, rng, charts["messages"].Y, charts["messages"].X)
		return charts
	}
}

func jsInt(v int64) string { return strings.TrimSpace(string(mustMarshal(v))) }

func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
