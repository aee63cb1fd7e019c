package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qscale/qscale/internal/qscalebin"
)

// qscale bench, send and load given no endpoint reach only the local
// server: with no AWS endpoint or region and no AWS configuration, and nothing on
// 127.0.0.1:9324, they fail naming that address. Any request for another
// host would go through the proxy the environment names, which counts it.
func TestNoEndpointStaysOnThisMachine(t *testing.T) {
	t.Parallel()
	if c, err := net.Dial("tcp", "127.0.0.1:9324"); err == nil {
		c.Close()
		t.Skip("a server listens on 127.0.0.1:9324 on this machine; this test needs the port free")
	}
	var proxied atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxied.Add(1)
		http.Error(w, "no", http.StatusForbidden)
	}))
	defer proxy.Close()
	// Credentials, so that a call meant for Amazon SQS would be sent (and
	// counted), but no endpoint, region or configuration file.
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "HTTPS_PROXY=" + proxy.URL, "HTTP_PROXY=" + proxy.URL,
		"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
	for _, args := range [][]string{
		{"bench", "--messages", "10", "--client", "raw"},
		{"bench", "--messages", "10", "--client", "sdk"},
		{"send", "--queue", "jobs", "hello"},
		{"load", "--queue", "jobs", "--burst", "5"},
	} {
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		cmd := exec.CommandContext(ctx, qscalebin.Path(t), args...)
		cmd.Env = env // nothing else
		out, err := cmd.CombinedOutput()
		cancel()
		if err == nil || !strings.Contains(string(out), "http://127.0.0.1:9324") || strings.Contains(string(out), "amazonaws") {
			t.Errorf("qscale %s with no endpoint: %v\n%s\nwant a failure that names http://127.0.0.1:9324", strings.Join(args, " "), err, out)
		}
	}
	if n := proxied.Load(); n > 0 {
		t.Errorf("%d requests left the machine (through the proxy)", n)
	}
}
