package up

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/qscale/qscale/internal/browsertest"
	"github.com/qscale/qscale/internal/qscalebin"
)

// upProcess is a `qscale up` process that the test stops when it wants.
type upProcess struct {
	t *testing.T
	*qscalebin.Process
	sqs, console string // the addresses it wrote
	stopped      bool   // stop was called
}

// runUp writes config to dir/qscale.yaml, runs `qscale up` on it as its own
// process, and waits for the addresses it writes once everything runs. The
// process is stopped when the test ends and must exit 0.
func runUp(t *testing.T, dir, config string) *upProcess {
	t.Helper()
	cfgPath := filepath.Join(dir, "qscale.yaml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	addrFile := filepath.Join(dir, "addr.json")
	os.Remove(addrFile)
	p := &upProcess{t: t, Process: qscalebin.Start(t, nil, "up", "--config", cfgPath, "--addr-file", addrFile)}
	t.Cleanup(p.stop)
	// The address file appears, written atomically, once everything runs.
	var addrs struct{ SQS, Console string }
	p.WaitFile(t, addrFile, 30*time.Second, func(b []byte) bool { return json.Unmarshal(b, &addrs) == nil })
	p.sqs, p.console = addrs.SQS, addrs.Console
	return p
}

// stop sends SIGTERM and waits for a clean exit; again, it does nothing.
func (p *upProcess) stop() {
	if p.stopped {
		return
	}
	p.stopped = true
	_ = p.Signal(syscall.SIGTERM)
	select {
	case <-p.Done():
		if err := p.Err(); err != nil {
			p.t.Errorf("qscale up exited with %v after SIGTERM; output:\n%s", err, p.Output())
		}
	case <-time.After(60 * time.Second):
		p.t.Errorf("qscale up still running 60 s after SIGTERM; output:\n%s", p.Output())
	}
}

// A handler command that does not exist, end to end with real processes:
// qscale up --check refuses the file; qscale up runs anyway and, within
// seconds, its dashboard shows the warning, the failures chart and the
// last error in a real browser. Started again on the same data directory,
// it still shows the decisions of the first run.
func TestFailuresOnDashboardInBrowser(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	config := `
server: {listen: "127.0.0.1:0", dataDir: ` + filepath.Join(dir, "data") + `}
console: {listen: "127.0.0.1:0"}
queues:
  - name: jobs-dlq
  - name: jobs
    attributes: {RedrivePolicy: '{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:jobs-dlq","maxReceiveCount":"2"}'}
fleets:
  - queue: jobs
    worker: {command: [does-not-exist-qscale], flags: ["--wait", "1", "--retry-delay", "0"]}
    minCapacity: 0
    maxCapacity: 2
    interval: 500ms
    policies: [{targetTracking: {TargetValue: 100, ScaleOutCooldown: 0, ScaleInCooldown: 0}}]
`
	if err := os.WriteFile(filepath.Join(dir, "qscale.yaml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	check, err := exec.Command(qscaleBin(t), "up", "--check", "--config", filepath.Join(dir, "qscale.yaml")).CombinedOutput()
	if err == nil || !strings.Contains(string(check), `fleets[0].worker.command: handler command not found: "does-not-exist-qscale" is not in $PATH`) {
		t.Fatalf("qscale up --check: %v\n%s", err, check)
	}

	ctx, consoleMessages := browsertest.Start(t)
	up := runUp(t, dir, config)
	poll := func(what, expr string) any {
		t.Helper()
		return browsertest.Poll(t, ctx, 30*time.Second, what, expr)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(up.console+"/"), chromedp.WaitVisible(chromedp.CSS("#chart-messages canvas"))); err != nil {
		t.Fatal(err)
	}
	poll("live updates", `document.getElementById("conn").textContent === "live"`)
	// Four messages through the producer endpoint.
	for i := range 4 {
		resp, err := http.Get(up.console + "/queue/jobs?message=work" + strconv.Itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("producer endpoint: %s", resp.Status)
		}
	}
	start := time.Now()
	poll("the warning banner", `(() => { const w = document.querySelector('#warnings .warning[data-kind="failing"]');
		return w !== null && !document.getElementById("warnings").hidden && w.textContent.includes("handlers fail more than they succeed"); })()`)
	poll("the last error", `[...document.querySelectorAll("#last-errors tr")].some((r) => r.textContent.includes('"does-not-exist-qscale": executable file not found'))`)
	poll("the failures chart", `!document.getElementById("failures-figure").hidden && window.qscale.charts.failures.data[1].some((v) => v > 0)`)
	poll("the dead-letter moves", `document.getElementById("failure-totals").textContent.includes("moved to jobs-dlq")`)
	t.Logf("the failure showed on the dashboard %v after the messages were sent", time.Since(start).Round(100*time.Millisecond))
	poll("a scale-out in the decision log", `[...document.querySelectorAll("#decisions tr")].some((r) => r.textContent.includes("scale out 0 -> 1: "))`)
	// Holds are summarised: the idle ticks make one growing row each.
	poll("a run of holds as one row", `[...document.querySelectorAll("#decisions tr")].some((r) => /holding at \d+ since [0-9:]+ \(\d+ ticks\)/.test(r.textContent))`)
	if rows := poll("few rows", `document.querySelectorAll("#decisions tr").length`).(float64); rows > 12 {
		t.Errorf("%v rows in the decision log after a few seconds; holds are not summarised", rows)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	browsertest.SaveArtifact(t, "dashboard-failures.png", png)

	// Stopped and started again: the decision log of the first run is
	// still there. The page leaves first, so its event stream does not
	// log the refused reconnects of a server that is gone.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	up.stop()
	up2 := runUp(t, dir, config)
	if err := chromedp.Do(ctx, chromedp.Navigate(up2.console+"/"), chromedp.WaitVisible(chromedp.CSS("#chart-messages canvas"))); err != nil {
		t.Fatal(err)
	}
	poll("the first run's scale-out after a restart", `[...document.querySelectorAll("#decisions tr")].some((r) => r.textContent.includes("scale out 0 -> 1: "))`)
	browsertest.CheckConsole(t, consoleMessages())
}
