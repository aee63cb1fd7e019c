package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var targetRE = regexp.MustCompile(`target ([0-9.]+) per worker`)

// `qscale autoscale` against a separate `qscale server` process, with a
// local fleet of `qscale worker` processes whose handler takes 200 ms:
// the decisions show the processing time the controller learned from the
// workers' status documents (0.2 s within 20 %), and the queueing policy
// sizes the fleet from it ("measured", not its default).
func TestAutoscaleLearnsProcessingTime(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	out := sqsJSON(t, s, "CreateQueue", map[string]any{"QueueName": "learn"})
	queueURL, _ := out["QueueUrl"].(string)
	if queueURL == "" {
		t.Fatalf("CreateQueue: %v", out)
	}
	cfg := filepath.Join(t.TempDir(), "autoscale.yaml")
	doc := fmt.Sprintf(`fleets:
  - queue: {url: %q}
    minCapacity: 1
    maxCapacity: 4
    interval: 500ms
    policies:
      - name: queueing
        queueing: {acceptableWait: 5s, defaultProcessingTime: 3s}
    local:
      command: [%q, worker, --queue-url, %q, --wait, "1", --demo, 200ms]
`, queueURL, qscaleBin, queueURL)
	if err := os.WriteFile(cfg, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(qscaleBin, "autoscale", "--config", cfg, "--log-level", "debug", "--log-format", "json")
	cmd.Env = clientEnv(s)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	cmd.Stdout = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	lines := make(chan string, 1024)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			_, _ = logs.Write(append(sc.Bytes(), '\n'))
			select {
			case lines <- sc.Text():
			default: // the test reads fast enough; a dropped line is one decision
			}
		}
		close(lines)
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(cmd.Process.Pid, syscall.SIGTERM) // by PID; it stops its workers
		select {
		case <-exited:
		case <-time.After(60 * time.Second):
			_ = syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
			t.Errorf("qscale autoscale did not stop within 60s of SIGTERM")
		}
		if t.Failed() {
			t.Logf("qscale autoscale log:\n%s", logs.String())
		}
	})

	// About 4 messages a second, one every 250 ms, while the decisions
	// are read.
	send := time.NewTicker(250 * time.Millisecond)
	defer send.Stop()
	deadline := time.After(90 * time.Second)
	var last string
	for {
		select {
		case <-send.C:
			sqsJSON(t, s, "SendMessage", map[string]any{"QueueUrl": queueURL, "MessageBody": "job"})
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("qscale autoscale exited; last decision: %s", last)
			}
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) != nil || !strings.HasPrefix(fmt.Sprint(rec["msg"]), "autoscale ") {
				continue
			}
			last = line
			pt, _ := rec["processingTime"].(float64) // nanoseconds
			pol, _ := rec["policy.queueing"].(map[string]any)
			reason, _ := pol["reason"].(string)
			if pt >= 0.16e9 && pt <= 0.24e9 && strings.Contains(reason, "per message (measured)") {
				// The backlog a worker may hold is the acceptable wait
				// over the learned time: 5 s / 0.2 s = 25, within 20 %.
				var target float64
				if m := targetRE.FindStringSubmatch(reason); m != nil {
					target, _ = strconv.ParseFloat(m[1], 64)
				}
				if target < 20 || target > 30 {
					t.Fatalf("learned %v per message, but the policy's target is %v per worker, want 25 ± 20%%: %s", time.Duration(pt), target, reason)
				}
				t.Logf("learned %v per message; queueing: %s", time.Duration(pt), reason)
				return
			}
		case <-deadline:
			t.Fatalf("no decision within 90s showed a learned processing time of 200ms ± 20%% used by the policy; last: %s", last)
		}
	}
}
