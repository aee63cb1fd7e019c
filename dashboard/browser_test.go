package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/qscale/qscale/internal/browsertest"
	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/queue"
)

// load keeps the autoscaled queue busy while the page is open: a producer
// sends 4 messages a second after a burst of 30, and every running worker of
// the in-memory fleet takes 2 messages a second, each in flight for 400 ms.
func load(ctx context.Context, s *system) {
	for range 30 {
		s.jobs.Send(ctx, queue.SendInput{Body: "burst"})
	}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	vis := 30 * time.Second
	wait := time.Duration(0)
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		s.jobs.Send(ctx, queue.SendInput{Body: "load"})
		if n%2 != 0 {
			continue
		}
		st, err := s.fleet.State(ctx)
		if err != nil || st.Running == 0 {
			continue
		}
		ds, err := s.jobs.Receive(ctx, queue.ReceiveInput{Max: min(st.Running, 10), Visibility: &vis, Wait: &wait})
		if err != nil {
			continue
		}
		time.AfterFunc(400*time.Millisecond, func() {
			for _, d := range ds {
				s.jobs.Delete(context.WithoutCancel(ctx), d.ReceiptHandle)
			}
		})
	}
}

// The page in a real browser, against a dashboard over a real queue engine
// and autoscaler on the wall clock: it loads without console errors, its
// charts draw live data, and a message sent with its form shows up in the
// queues table.
func TestBrowser(t *testing.T) {
	t.Parallel()
	ctx, consoleMessages := browsertest.Start(t)
	s := setup(t, setupOptions{clock: clock.Real{}, token: "browser-token", interval: 250 * time.Millisecond, start: true})
	lctx, stopLoad := context.WithCancel(context.Background())
	loadDone := make(chan struct{})
	go func() { defer close(loadDone); load(lctx, s) }()
	t.Cleanup(func() { stopLoad(); <-loadDone })

	step := func(what string, a ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		browsertest.Step(t, ctx, what, a...)
	}
	poll := func(what, expr string) any {
		t.Helper()
		return browsertest.Poll(t, ctx, 20*time.Second, what, expr)
	}

	// The address `qscale up` prints carries the token once; the page then
	// runs on the cookie.
	step("open the page", chromedp.Navigate(s.srv.URL+"/?token=browser-token"))
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil || strings.Contains(loc, "token") {
		t.Errorf("address after login = %q, %v; want the token gone", loc, err)
	}
	step("charts", chromedp.WaitVisible(chromedp.CSS("#chart-messages canvas")))
	poll("live updates", `document.getElementById("conn").textContent === "live"`)

	// Live data: the charts get points, and more as time passes.
	n1 := poll("chart points", `window.qscale.charts.messages.data[0].length >= 2 && window.qscale.charts.messages.data[0].length`).(float64)
	n2 := poll("more chart points", fmt.Sprintf(`window.qscale.charts.messages.data[0].length > %v && window.qscale.charts.messages.data[0].length`, n1)).(float64)
	t.Logf("chart points: %v, then %v", n1, n2)
	for _, chart := range []string{"messages", "backlog", "workers", "throughput"} {
		poll(chart+" chart data", fmt.Sprintf(`(() => { const d = window.qscale.charts[%q].data;
			return d.length > 2 && d[0].length === d[1].length && d[1].some((v) => v !== null); })()`, chart))
	}
	poll("visible messages charted", `Math.max(...window.qscale.charts.messages.data[1]) > 0`)
	poll("workers started", `Math.max(...window.qscale.charts.workers.data[2]) > 0`) // running
	poll("a decision in the log", `document.querySelectorAll("#decisions tr").length > 0`)
	poll("queues table", `document.querySelector('tr[data-queue="jobs-dlq"] td:nth-child(2)') !== null`)

	// Send a test message to jobs-dlq (nothing consumes it) with the form;
	// its visible count on the page goes from 0 to 1.
	visibleCell := `document.querySelector('tr[data-queue="jobs-dlq"] td:nth-child(2)').textContent`
	poll("jobs-dlq empty", visibleCell+` === "0"`)
	step("fill in the form",
		chromedp.SetValue(chromedp.CSS("#send-queue"), "jobs-dlq"),
		chromedp.SetValue(chromedp.CSS("#send-body"), "sent from the browser test"),
		chromedp.Click(chromedp.CSS("#send-button")),
	)
	poll("send result", `document.getElementById("send-result").textContent.startsWith("sent ")`)
	poll("jobs-dlq visible count", visibleCell+` === "1"`)
	dlq, err := s.engine.Queue("jobs-dlq")
	if err != nil {
		t.Fatal(err)
	}
	if c := dlq.Counts(); c.Visible != 1 {
		t.Errorf("jobs-dlq holds %d visible messages, want the one sent from the page", c.Visible)
	}

	// Let the charts run a few more seconds for the screenshot.
	poll("ten seconds of points", `window.qscale.charts.messages.data[0].length >= 10`)
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	browsertest.SaveArtifact(t, "dashboard.png", png)

	browsertest.CheckConsole(t, consoleMessages())
}

// A day of history, as the page gets it after `qscale up` ran for a day:
// the page draws it without console errors, quickly, and the range buttons
// show the last 24 hours and the last 5 minutes.
func TestBrowserDayOfHistory(t *testing.T) {
	t.Parallel()
	ctx, consoleMessages := browsertest.Start(t)
	s := setup(t, setupOptions{})
	clk := s.clk.(*clock.Fake)
	bg := context.Background()
	// 23 hours at one sample a minute (one per coarse step), then an hour
	// at one a second. Messages arrive all the time; a purge every 100
	// samples makes a sawtooth.
	for i := range 23*60 + 3600 {
		step := time.Minute
		if i >= 23*60 {
			step = time.Second
		}
		clk.Advance(step)
		s.jobs.Send(bg, queue.SendInput{Body: "x"})
		if i%100 == 99 {
			s.jobs.Purge(bg)
		}
		if i%600 == 0 {
			s.ctl.Tick(bg)
		}
		s.dash.SampleNow(bg)
	}

	step := func(what string, a ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		browsertest.Step(t, ctx, what, a...)
	}
	eval := func(what, expr string) float64 {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Poll[float64](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second)))
		if err != nil {
			t.Fatalf("%s (%s): %v", what, expr, err)
		}
		return v
	}
	step("open the page", chromedp.Navigate(s.srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#chart-messages canvas")))
	n := eval("a day of points", `window.qscale.charts.messages.data[0].length >= 4900 && window.qscale.charts.messages.data[0].length`)
	first := eval("first point", `window.qscale.charts.messages.data[0][0]`)
	last := eval("last point", `(() => { const t = window.qscale.charts.messages.data[0]; return t[t.length - 1]; })()`)
	if span := last - first; span < 86400-120 || span > 86400 {
		t.Errorf("history spans %v s, want a day", span)
	}
	// uPlot draws in a microtask after setData: wait for the next frame.
	ms, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`(async () => { const t0 = performance.now();
		for (const u of Object.values(window.qscale.charts)) u.setData(u.data);
		await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
		return performance.now() - t0; })()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("redraw: %v", err)
	}
	t.Logf("a day of history: %v points per series; redrawing the 4 charts takes %.1f ms", n, ms)
	if ms > 2000 {
		t.Errorf("redrawing a day of history takes %.0f ms, want well under 2 s", ms)
	}

	// Three more minutes of live points: the page moves the oldest seconds
	// into minute means and keeps an hour of seconds, as the server does.
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const h = window.qscale.hist;
		const last = h.fine.t[h.fine.t.length - 1];
		const c0 = h.coarse.t.length;
		for (let i = 1; i <= 180; i++) window.qscale.addPoint({ t: last + i, v: { visible: 1 } });
		const sorted = h.coarse.t.every((t, i) => i === 0 || h.coarse.t[i - 1] < t);
		return JSON.stringify({ c0, c1: h.coarse.t.length, f1: h.fine.t.length, sorted,
			joined: h.coarse.t[h.coarse.t.length - 1] < h.fine.t[0] });
	})()`))
	if err != nil {
		t.Fatalf("add points: %v", err)
	}
	var compact struct {
		C0, C1, F1     int
		Sorted, Joined bool
	}
	if err := json.Unmarshal([]byte(raw), &compact); err != nil {
		t.Fatal(err)
	}
	if compact.F1 != 3600 || compact.C1 < compact.C0 || compact.C1 > compact.C0+3 || !compact.Sorted || !compact.Joined {
		t.Errorf("after 3 more minutes: %+v; want 3600 fine points and up to 3 more minute means (fewer if the oldest expired), in order", compact)
	}

	xspan := `(() => { const x = window.qscale.charts.messages.scales.x; return x.max - x.min; })()`
	step("24 h", chromedp.Click(chromedp.CSS(`button[data-range="86400"]`)))
	if span := eval("24 h range", xspan+` > 80000 && `+xspan); span < 86400-120 {
		t.Errorf("24 h shows %v s", span)
	}
	step("5 min", chromedp.Click(chromedp.CSS(`button[data-range="300"]`)))
	if span := eval("5 min range", xspan+` <= 300 && `+xspan); span != 300 {
		t.Errorf("5 min shows %v s", span)
	}
	browsertest.CheckConsole(t, consoleMessages())
}
