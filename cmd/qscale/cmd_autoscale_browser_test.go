package main

import (
	"fmt"
	neturl "net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/chromedp/chromedp"

	"github.com/qscale/qscale/internal/browsertest"
	"github.com/qscale/qscale/internal/qscalebin"
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
		browsertest.Step(t, ctx, what, a...)
	}
	poll := func(what, expr string) any {
		t.Helper()
		return browsertest.Poll(t, ctx, 30*time.Second, what, expr)
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

// Under qscale autoscale the dashboard's Workers table lists the fleet's
// workers, as under qscale up: here two local qscale worker processes,
// with their PIDs and states, on two fleets' dashboards each showing its
// own.
func TestAutoscaleDashboardListsWorkersInBrowser(t *testing.T) {
	ctx, consoleMessages := browsertest.Start(t)
	url := queueWith(t, 0)
	u, _ := neturl.Parse(url)
	endpoint := u.Scheme + "://" + u.Host
	q, err := sqsClient(endpoint).CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String("other")})
	if err != nil {
		t.Fatal(err)
	}
	bin := qscalebin.Path(t)
	path := writeConfig(t, "workers.yaml", fmt.Sprintf(`fleets:
  - name: two
    queue: {url: %q}
    minCapacity: 2
    maxCapacity: 2
    interval: 200ms
    policies: [{targetTracking: {TargetValue: 10}}]
    local: {command: [%q, worker, --queue-url, %q, --wait, "1", --demo, 10ms]}
  - name: one
    queue: {url: %q}
    minCapacity: 1
    maxCapacity: 1
    interval: 200ms
    policies: [{targetTracking: {TargetValue: 10}}]
    local: {command: [%q, worker, --queue-url, %q, --wait, "1", --demo, 10ms]}
`, url, bin, url, *q.QueueUrl, bin, *q.QueueUrl))
	p := startAutoscale(t, path)
	poll := func(what, expr string) {
		t.Helper()
		browsertest.Poll(t, ctx, 30*time.Second, what, expr)
	}
	rows := `[...document.querySelectorAll("#workers tr")]`
	for _, c := range []struct {
		page string
		n    int
	}{{"/", 2}, {"/fleets/two/", 2}, {"/fleets/one/", 1}} {
		if err := chromedp.Do(ctx, chromedp.Navigate(p.console+c.page)); err != nil {
			t.Fatalf("open %s: %v", c.page, err)
		}
		poll(fmt.Sprintf("%d workers listed on %s", c.n, c.page), fmt.Sprintf(
			`document.getElementById("no-workers").hidden && %s.length === %d && %s.every((tr) => /^[0-9]+$/.test(tr.children[1].textContent) && tr.children[2].textContent !== "")`,
			rows, c.n, rows))
	}
	browsertest.CheckConsole(t, consoleMessages())
}
