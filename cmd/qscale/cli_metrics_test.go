package main

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/qscale/qscale/internal/qscalebin"
)

// A queue's series in qscale server's metrics and its workers' series carry
// the same queue label, the queue's name, so that one query joins them.
func TestQueueLabelJoinsServerAndWorkers(t *testing.T) {
	t.Parallel()
	adminFile := filepath.Join(t.TempDir(), "admin")
	srv, addr := startServer(t, "--in-memory", "--admin-listen", "127.0.0.1:0", "--admin-addr-file", adminFile)
	admin := strings.TrimSpace(string(srv.WaitFile(t, adminFile, 30*time.Second, nil)))
	createQueue(t, "http://"+addr, "jobs")
	statusFile := filepath.Join(t.TempDir(), "status.json")
	w := qscalebin.Start(t, nil, "worker", "--queue-url", "http://"+addr+"/000000000000/jobs", "--demo", "1ms",
		"--wait", "1", "--status-addr", "127.0.0.1:0", "--status-file", statusFile)
	var status struct {
		StatusAddr string `json:"status_addr"`
	}
	w.WaitFile(t, statusFile, 30*time.Second, func(b []byte) bool {
		return json.Unmarshal(b, &status) == nil && status.StatusAddr != ""
	})
	label := func(url, series string) string {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		m := regexp.MustCompile(regexp.QuoteMeta(series) + `\{[^}]*queue="([^"]*)"`).FindSubmatch(body)
		if m == nil {
			t.Fatalf("%s has no %s with a queue label:\n%s", url, series, body)
		}
		return string(m[1])
	}
	server := label("http://"+admin+"/metrics", "qscale_queue_messages")
	worker := label("http://"+status.StatusAddr+"/metrics", "qscale_worker_messages_started_total")
	if server != "jobs" || worker != "jobs" {
		t.Errorf("queue label: server %q, worker %q; want both jobs", server, worker)
	}
}
