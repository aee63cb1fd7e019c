package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/qscale/qscale/internal/qscalebin"
	"github.com/qscale/qscale/internal/testwait"
)

// A queue's series in qscale server's metrics and its workers' series carry
// the same queue label, the queue's name, so that one query joins them.
func TestQueueLabelJoinsServerAndWorkers(t *testing.T) {
	t.Parallel()
	adminFile := filepath.Join(t.TempDir(), "admin")
	addrFile := filepath.Join(t.TempDir(), "addr")
	srv := exec.Command(qscalebin.Path(t), "server", "--in-memory", "--listen", "127.0.0.1:0", "--addr-file", addrFile,
		"--admin-listen", "127.0.0.1:0", "--admin-addr-file", adminFile)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = srv.Process.Kill()
		_ = srv.Wait()
	})
	var addr, admin string
	testwait.For(t, 30*time.Second, "qscale server listening", func() bool {
		a, err1 := os.ReadFile(addrFile)
		b, err2 := os.ReadFile(adminFile)
		addr, admin = string(a), string(b)
		return err1 == nil && err2 == nil && addr != "" && admin != ""
	})
	createQueue(t, "http://"+addr, "jobs")
	statusFile := filepath.Join(t.TempDir(), "status.json")
	w := exec.Command(qscalebin.Path(t), "worker", "--queue-url", "http://"+addr+"/000000000000/jobs", "--demo", "1ms",
		"--wait", "1", "--status-addr", "127.0.0.1:0", "--status-file", statusFile)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = w.Process.Kill()
		_ = w.Wait()
	})
	var status struct {
		StatusAddr string `json:"status_addr"`
	}
	testwait.For(t, 30*time.Second, "the worker's status endpoint", func() bool {
		b, err := os.ReadFile(statusFile)
		return err == nil && json.Unmarshal(b, &status) == nil && status.StatusAddr != ""
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
