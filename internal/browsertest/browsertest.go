// Package browsertest starts a headless Chromium for tests: Debian's
// chromium, a fresh profile, none of the background traffic a closed
// network refuses, and the page's console collected.
package browsertest

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ChromiumPath is Debian's chromium; QSCALE_CHROMIUM overrides it. Without
// it the test fails with how to install it, unless QSCALE_SKIP_BROWSER=1
// skips it.
func ChromiumPath(t testing.TB) string {
	t.Helper()
	if os.Getenv("QSCALE_SKIP_BROWSER") == "1" {
		t.Skip("QSCALE_SKIP_BROWSER=1: browser test skipped")
	}
	path := os.Getenv("QSCALE_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the dashboard's browser test needs Debian's chromium at %s (%v): install it with "+
			"`apt-get install -y chromium` (scripts/test does), point QSCALE_CHROMIUM at another Chromium, "+
			"or set QSCALE_SKIP_BROWSER=1 to skip this test", path, err)
	}
	return path
}

// Start starts a headless Chromium with a fresh profile and returns a tab
// and the console messages it has collected so far. Everything stops when
// the test ends.
func Start(t testing.TB) (context.Context, func() []chromedp.ConsoleMessage) {
	t.Helper()
	path := ChromiumPath(t)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 1000),
	)
	ctx, cancel := chromedp.NewContext(actx)
	// A bound on the whole browser session, against a hang: a long page
	// test (a dozen steps) has taken 90 s while two full test runs shared
	// two cores, so it is well above that.
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser, attaches the tab
		t.Fatalf("start %s: %v", path, err)
	}
	var mu sync.Mutex
	var msgs []chromedp.ConsoleMessage
	console := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range console {
			if err != nil {
				return
			}
			mu.Lock()
			msgs = append(msgs, m)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return ctx, func() []chromedp.ConsoleMessage {
		mu.Lock()
		defer mu.Unlock()
		return append([]chromedp.ConsoleMessage(nil), msgs...)
	}
}

// CheckConsole fails the test for every error or exception the page logged
// and logs the rest.
func CheckConsole(t testing.TB, msgs []chromedp.ConsoleMessage) {
	t.Helper()
	for _, m := range msgs {
		switch m.Type {
		case chromedp.ConsoleError, chromedp.ConsoleException, "assert":
			t.Errorf("console %s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line+1)
		default:
			t.Logf("console %s: %s", m.Type, m.Text)
		}
	}
}

// SaveArtifact writes data to $QSCALE_ARTIFACTS/name (a temporary directory
// when unset) and logs where.
func SaveArtifact(t testing.TB, name string, data []byte) {
	t.Helper()
	dir := os.Getenv("QSCALE_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("artifact: %s (%d bytes)", path, len(data))
}

// Step runs actions in the tab ctx; an error fails the test, naming what
// the step does.
func Step(t testing.TB, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// Poll evaluates the JavaScript expression expr in the tab ctx every 100 ms
// until it is truthy and returns its value; if it is not within limit, the
// test fails, naming what it waited for.
func Poll(t testing.TB, ctx context.Context, limit time.Duration, what, expr string) any {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Poll[any](expr, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(limit)))
	if err != nil {
		t.Fatalf("waiting for %s (%s): %v", what, expr, err)
	}
	return v
}
