package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
)

// dialRecorder refuses every connection and remembers where it was asked
// to go: nothing leaves the machine, nor reaches a server that happens to
// listen on the default port.
type dialRecorder struct {
	mu    sync.Mutex
	addrs []string
}

func (d *dialRecorder) dial(_ context.Context, _, addr string) (net.Conn, error) {
	d.mu.Lock()
	d.addrs = append(d.addrs, addr)
	d.mu.Unlock()
	return nil, errors.New("refused by the test")
}

func (d *dialRecorder) dialled() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.addrs...)
}

// With AWS credentials and a region in the environment but no endpoint and
// no queue URL, qscale bench calls the local server and nothing else, with
// either client; a queue URL on an AWS host is what it takes to reach
// Amazon SQS.
func TestBenchDefaultsToTheLocalServer(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL_SQS", "")
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	t.Setenv("AWS_REGION", "eu-west-1")
	for _, tc := range []struct {
		args []string
		addr string
	}{
		{[]string{"--client", "raw"}, "127.0.0.1:9324"},
		{[]string{"--client", "sdk"}, "127.0.0.1:9324"},
		{[]string{"--client", "sdk", "--mode", "wakeup"}, "127.0.0.1:9324"},
		{[]string{"--client", "raw", "--queue-url", "https://sqs.eu-west-1.amazonaws.com/123456789012/q"}, "sqs.eu-west-1.amazonaws.com:443"},
		{[]string{"--client", "sdk", "--endpoint-url", "https://sqs.us-east-2.amazonaws.com"}, "sqs.us-east-2.amazonaws.com:443"},
	} {
		d := &dialRecorder{}
		var stdout, stderr bytes.Buffer
		err := benchCommand(t.Context(), append(tc.args, "--messages", "10", "--samples", "1"), benchIO{stdout: &stdout, stderr: &stderr, dial: d.dial})
		if err == nil || !strings.Contains(err.Error(), "refused by the test") {
			t.Errorf("%q: err %v, want the refused connection", tc.args, err)
		}
		addrs := d.dialled()
		if len(addrs) == 0 {
			t.Errorf("%q: dialled nothing", tc.args)
		}
		for _, a := range addrs {
			if a != tc.addr {
				t.Errorf("%q: dialled %s, want only %s", tc.args, a, tc.addr)
			}
		}
		if tc.addr == "127.0.0.1:9324" && !strings.Contains(stderr.String(), "endpoint http://127.0.0.1:9324 (default: the local qscale server)") {
			t.Errorf("%q: stderr %q does not name the default endpoint", tc.args, stderr.String())
		}
	}
}
