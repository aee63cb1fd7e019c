package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/qscale/qscale/internal/qscalebin"
)

// startUp runs `qscale up --config cfg` with extra flags as a process, stopped
// when the test ends, and waits up to a minute for the SQS endpoint it
// writes to its address file.
func startUp(t *testing.T, cfg string, extra ...string) (up *qscalebin.Process, sqsEndpoint string) {
	t.Helper()
	addrFile := filepath.Join(t.TempDir(), "addr.json")
	up = qscalebin.Start(t, nil, append([]string{"up", "--config", cfg, "--addr-file", addrFile}, extra...)...)
	var addrs struct{ SQS string }
	up.WaitFile(t, addrFile, time.Minute, func(b []byte) bool {
		return json.Unmarshal(b, &addrs) == nil && addrs.SQS != ""
	})
	return up, addrs.SQS
}

// startOneWorker is startUp on a configuration of an in-memory server with
// the queue jobs, no console, and one fleet of exactly one worker whose
// worker section is worker (a YAML flow mapping).
func startOneWorker(t *testing.T, worker string, extra ...string) (up *qscalebin.Process, sqsEndpoint string) {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "qscale.yaml")
	err := os.WriteFile(cfg, []byte(`server:
  inMemory: true
  listen: 127.0.0.1:0
console:
  listen: "off"
queues:
  - name: jobs
fleets:
  - queue: jobs
    worker: `+worker+`
    minCapacity: 1
    maxCapacity: 1
    policies:
      - targetTracking: {TargetValue: 100}
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	return startUp(t, cfg, extra...)
}
