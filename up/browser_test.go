package up

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/qscale/qscale/internal/browsertest"
)

// startUpProcess runs `qscale up` as its own process with the given
// configuration and returns its SQS and console URLs. The process is
// stopped with SIGTERM when the test ends and must exit 0.
func startUpProcess(t *testing.T, config string) (sqsURL, consoleURL string) {
	t.Helper()
	p := runUp(t, t.TempDir(), config)
	return p.sqs, p.console
}

// The dashboard of a running `qscale up`, in a real browser: the page loads
// without console errors, the charts draw live data (the fleet scaling out
// under a burst sent to the producer endpoint), and a test message sent with
// the page's form moves the visible count.
func TestDashboardOfQscaleUpInBrowser(t *testing.T) {
	t.Parallel()
	ctx, consoleMessages := browsertest.Start(t)
	_, console := startUpProcess(t, `
server: {listen: "127.0.0.1:0", inMemory: true}
console: {listen: "127.0.0.1:0", token: up-token}
queues: [{name: jobs-dlq}, {name: jobs}]
fleets:
  - queue: jobs
    worker: {demo: 100ms, flags: ["--wait", "2"]}
    minCapacity: 0
    maxCapacity: 3
    interval: 500ms
    policies:
      - targetTracking: {TargetValue: 20, ScaleOutCooldown: 0, ScaleInCooldown: 0}
`)
	// A burst through the producer endpoint, as seed 001's API Gateway took it.
	for i := range 30 {
		req, _ := http.NewRequest(http.MethodPost, console+"/queue/jobs", strings.NewReader(
			`[`+strings.Repeat(fmt.Sprintf(`{"body":"job %d"},`, i), 9)+`{"body":"last"}]`))
		req.Header.Set("Authorization", "Bearer up-token")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("producer endpoint: %d", resp.StatusCode)
		}
	}

	step := func(what string, a ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		browsertest.Step(t, ctx, what, a...)
	}
	poll := func(what, expr string) any {
		t.Helper()
		return browsertest.Poll(t, ctx, 30*time.Second, what, expr)
	}
	step("open the dashboard", chromedp.Navigate(console+"/?token=up-token"))
	step("charts", chromedp.WaitVisible(chromedp.CSS("#chart-messages canvas")))
	poll("live updates", `document.getElementById("conn").textContent === "live"`)
	n1 := poll("chart points", `window.qscale.charts.messages.data[0].length >= 2 && window.qscale.charts.messages.data[0].length`).(float64)
	poll("more chart points", fmt.Sprintf(`window.qscale.charts.messages.data[0].length > %v`, n1))
	poll("the burst charted", `Math.max(...window.qscale.charts.messages.data[1]) > 0`)
	poll("workers running charted", `Math.max(...window.qscale.charts.workers.data[2]) > 0`)
	poll("a scale-out in the decision log", `document.querySelectorAll("#decisions tr").length > 0`)

	visibleCell := `document.querySelector('tr[data-queue="jobs-dlq"] td:nth-child(2)').textContent`
	poll("jobs-dlq empty", `document.querySelector('tr[data-queue="jobs-dlq"] td:nth-child(2)') !== null && `+visibleCell+` === "0"`)
	step("send a test message with the form",
		chromedp.SetValue(chromedp.CSS("#send-queue"), "jobs-dlq"),
		chromedp.SetValue(chromedp.CSS("#send-body"), "sent from the page"),
		chromedp.Click(chromedp.CSS("#send-button")),
	)
	poll("send result", `document.getElementById("send-result").textContent.startsWith("sent ")`)
	poll("jobs-dlq visible count moves to 1", visibleCell+` === "1"`)

	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	browsertest.SaveArtifact(t, "qscale-up-dashboard.png", png)
	browsertest.CheckConsole(t, consoleMessages())
}
