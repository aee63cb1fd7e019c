package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/chromedp/chromedp"

	"github.com/qscale/qscale/dashboard"
	"github.com/qscale/qscale/internal/browsertest"
	"github.com/qscale/qscale/internal/qscalebin"
	"github.com/qscale/qscale/internal/testserver"
	"github.com/qscale/qscale/internal/testwait"
)

// failingFleet starts a qscale server with the queue "jobs" (redriven to
// "jobs-dlq" after two receives) holding n messages, and qscale autoscale
// over it with one local qscale worker process whose handler command
// exits 3.
func failingFleet(t *testing.T, n int) *autoscaleProcess {
	t.Helper()
	endpoint := testserver.Start(t)
	api := sqsClient(endpoint)
	if _, err := api.CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String("jobs-dlq")}); err != nil {
		t.Fatal(err)
	}
	q, err := api.CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String("jobs"), Attributes: map[string]string{
		"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:jobs-dlq","maxReceiveCount":"2"}`,
	}})
	if err != nil {
		t.Fatal(err)
	}
	url := *q.QueueUrl
	sendTo(t, endpoint, url, n)
	path := writeConfig(t, "failing.yaml", fmt.Sprintf(`fleets:
  - name: failing
    queue: {url: %q}
    minCapacity: 1
    maxCapacity: 1
    interval: 200ms
    policies: [{targetTracking: {TargetValue: 10}}]
    local: {command: [%q, worker, --queue-url, %q, --wait, "1", --retry-delay, "0", --, sh, -c, "echo broken input >&2; exit 3"]}
`, url, qscalebin.Path(t), url))
	return startAutoscale(t, path)
}

// metric returns the value of the series named by its full text (name
// and labels) on the console's /metrics, or -1 without it.
func (p *autoscaleProcess) metric(t *testing.T, series string) float64 {
	t.Helper()
	_, body := p.get(t, "/metrics")
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// A fleet whose handler fails, under a real qscale autoscale: /metrics
// counts the failures with qscale up's series and labels and shows the
// dead-letter queue's depth, the dashboard's event stream carries the
// last error and the "failing" warning, and the log says the warning once.
func TestAutoscaleFailuresReported(t *testing.T) {
	t.Parallel()
	p := failingFleet(t, 6)
	testwait.For(t, 60*time.Second, "handler failures and the dead-letter queue on /metrics", func() bool {
		return p.metric(t, `qscale_handler_failures_total{fleet="failing",queue="jobs"}`) > 0 &&
			p.metric(t, `qscale_dead_letter_messages{dead_letter_queue="jobs-dlq",fleet="failing",queue="jobs"}`) > 0
	})
	if v := p.metric(t, `qscale_handler_failure_rate{fleet="failing",queue="jobs"}`); v < 0 {
		t.Fatalf("no failure rate on /metrics")
	}

	f := p.failures(t)
	if len(f.LastErrors) == 0 || !strings.Contains(f.LastErrors[len(f.LastErrors)-1].Error, "exited 3") ||
		!strings.Contains(f.LastErrors[len(f.LastErrors)-1].Stderr, "broken input") || f.DeadLetterQueue != "jobs-dlq" || f.Failed == 0 {
		t.Fatalf("the dashboard's failures: %+v", f)
	}
	testwait.For(t, 60*time.Second, "the failing warning in the log", func() bool { return p.logged("handlers fail more than they succeed") })
	out := p.output()
	if n := strings.Count(out, "handlers fail more than they succeed"); n != 1 {
		t.Fatalf("the failing warning was logged %d times, want once:\n%s", n, out)
	}
}

// failures reads the failures of the dashboard's next sample from its
// event stream (GET /api/events).
func (p *autoscaleProcess) failures(t *testing.T) dashboard.Failures {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", p.console+"/api/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var ev struct {
			Failures *dashboard.Failures `json:"failures"`
		}
		if json.Unmarshal([]byte(data), &ev) == nil && ev.Failures != nil && len(ev.Failures.LastErrors) > 0 {
			return *ev.Failures
		}
	}
	t.Fatalf("no sample with failures on /api/events: %v", sc.Err())
	return dashboard.Failures{}
}

// The dashboard of qscale autoscale shows a failing fleet as qscale up's
// does, in a real browser: the warning banner, the last error, the
// failures chart and the dead-letter queue.
func TestAutoscaleFailuresInBrowser(t *testing.T) {
	ctx, consoleMessages := browsertest.Start(t)
	p := failingFleet(t, 6)
	poll := func(what, expr string) {
		t.Helper()
		browsertest.Poll(t, ctx, 60*time.Second, what, expr)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(p.console+"/"), chromedp.WaitVisible(chromedp.CSS("#chart-messages canvas"))); err != nil {
		t.Fatal(err)
	}
	poll("the warning banner", `(() => { const w = document.querySelector('#warnings .warning[data-kind="failing"]');
		return w !== null && !document.getElementById("warnings").hidden && w.textContent.includes("handlers fail more than they succeed"); })()`)
	poll("the last error", `[...document.querySelectorAll("#last-errors tr")].some((r) => r.textContent.includes("broken input"))`)
	poll("the failures chart", `!document.getElementById("failures-figure").hidden && window.qscale.charts.failures.data[1].some((v) => v > 0)`)
	poll("the dead-letter queue", `document.getElementById("failure-totals").textContent.includes("jobs-dlq")`)
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	browsertest.SaveArtifact(t, "qscale-autoscale-failures.png", png)
	browsertest.CheckConsole(t, consoleMessages())
}
