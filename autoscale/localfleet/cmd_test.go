package localfleet_test

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/qscale/qscale/internal/testwait"
)

// TestAutoscaleCommand runs `qscale autoscale` with a local fleet (built by
// autoscale/fleets): the backlog starts workers of this very binary, they
// drain the queue, and SIGINT stops them.
func TestAutoscaleCommand(t *testing.T) {
	t.Parallel()
	e := setup(t)
	cfg := filepath.Join(e.dir, "qscale.yaml")
	write := func(settings string) {
		t.Helper()
		doc := `fleets:
  - queue: {url: "` + e.queue + `"}
    local:
` + settings + `
    minCapacity: 0
    maxCapacity: 3
    interval: 200ms
    policies:
      - targetTracking: {TargetValue: 5}
`
		if err := os.WriteFile(cfg, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	write(`      command: [qscale, worker]
      workers: 3`)
	out, err := exec.Command(qscaleBin, "autoscale", "-config", cfg).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "fleets[0].local.workers: unknown field") {
		t.Fatalf("an unknown setting: err %v, output:\n%s", err, out)
	}

	// qscale autoscale returns without waiting for its fleet's Stop, which
	// would remove a status directory of its own making: give it one.
	write(`      command: [qscale, worker, --queue-url, "` + e.queue + `", --demo, 20ms, --grace, 2s]
      stopGrace: 5s
      statusDir: "` + filepath.Join(e.dir, "status") + `"`)
	e.send(40)
	cmd := exec.Command(qscaleBin, "autoscale", "--config", cfg, "--log-format", "json")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex // guards pids, lines
	pids := map[int]bool{}
	var lines []string
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var ev struct {
				Msg string `json:"msg"`
				PID int    `json:"pid"`
			}
			mu.Lock()
			lines = append(lines, sc.Text())
			if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Msg == "worker spawned" {
				pids[ev.PID] = true
			}
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-scanned
			cmd.Wait()
		}
		if t.Failed() {
			mu.Lock()
			t.Logf("qscale autoscale said:\n%s", strings.Join(lines, "\n"))
			mu.Unlock()
		}
	})
	testwait.For(t, 30*time.Second, "the workers to drain the queue", func() bool {
		v, inf := e.counts()
		return v == 0 && inf == 0
	})
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	<-scanned
	if err := cmd.Wait(); err != nil {
		t.Fatalf("qscale autoscale: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(pids) == 0 {
		t.Fatal("no worker was spawned")
	}
	// The workers got SIGTERM when the command's context ended; a demo
	// worker's graceful stop is immediate. Those that outlived the command
	// are reaped by init, or left as zombies where init does not reap.
	testwait.For(t, 10*time.Second, "the workers to exit", func() bool {
		for pid := range pids {
			if alive(pid) && !zombie(pid) {
				return false
			}
		}
		return true
	})
}

// zombie reports whether pid has exited and awaits its parent's wait.
func zombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// pid (comm) state ...: comm may hold spaces, so look after the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}
