package main

import (
	"encoding/json"
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
