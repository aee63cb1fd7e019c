package main

import (
	"fmt"
	neturl "net/url"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/qscale/qscale/internal/browsertest"
)

// The dashboard of a running `qscale autoscale`, in a real browser: the
// same page as qscale up's, over the SQS queue and the fleet. It charts the
// queue, lists it with its attributes, hides what an autoscaler cannot do
// (send, purge, throughput), and pauses and resumes the autoscaler.
func TestAutoscaleDashboardInBrowser(t *testing.T) {
	ctx, consoleMessages := browsertest.Start(t)
	url := queueWith(t, 30)
	path := writeConfig(t, "qscale.yaml", fmt.Sprintf(consoleFleet, url, 5, ""))
	p := startAutoscale(t, path, "--console-token", "as-token")

	step := func(what string, a ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, a...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	poll := func(what, expr string) any {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Poll[any](expr, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)))
		if err != nil {
			t.Fatalf("waiting for %s (%s): %v", what, expr, err)
		}
		return v
	}
	step("open the dashboard", chromedp.Navigate(p.console+"/?token=as-token"))
	step("charts", chromedp.WaitVisible(chromedp.CSS("#chart-messages canvas")))
	poll("live updates", `document.getElementById("conn").textContent === "live"`)
	poll("the queue charted", `Math.max(...window.qscale.charts.messages.data[1]) === 30`)
	poll("3 workers charted", `Math.max(...window.qscale.charts.workers.data[2]) === 3`)
	poll("the queue listed with its SQS attributes",
		`document.querySelector('tr[data-queue="jobs"] summary') !== null && /attributes/.test(document.querySelector('tr[data-queue="jobs"] summary').textContent)`)
	poll("no send form, purge button or throughput", `document.getElementById("send-panel").hidden && `+
		`document.querySelector("button.purge") === null && document.querySelector("figure.counters").hidden`)
	poll("decisions listed", `document.querySelectorAll("#decisions tr").length > 0`)

	poll("the pause panel", `!document.getElementById("pause-panel").hidden && document.getElementById("pause-button").textContent === "Pause autoscaler"`)
	step("pause", chromedp.Click(chromedp.CSS("#pause-button")))
	poll("paused", `document.getElementById("pause-state").textContent.startsWith("autoscaler paused by the console")`)
	// 20 more messages: the policy wants 5 workers, the pause keeps 3.
	u, _ := neturl.Parse(url)
	sendTo(t, u.Scheme+"://"+u.Host, url, 20)
	poll("a paused decision in the log", `document.getElementById("changes-only").checked = false, `+
		`[...document.querySelectorAll("#decisions td")].some((td) => td.textContent === "paused")`)
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	browsertest.SaveArtifact(t, "qscale-autoscale-dashboard.png", png)
	if ds := p.decisionsWithToken(t, "as-token"); len(ds) == 0 || ds[0].Observation.Fleet.Desired != 3 {
		t.Fatalf("the paused fleet changed: %+v", ds)
	}
	step("resume", chromedp.Click(chromedp.CSS("#pause-button")))
	poll("resumed", `document.getElementById("pause-state").textContent === "autoscaler running"`)
	poll("5 workers charted", `Math.max(...window.qscale.charts.workers.data[2]) === 5`)
	browsertest.CheckConsole(t, consoleMessages())
}
