package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/qscale/qscale/internal/testserver"
	"github.com/qscale/qscale/internal/testwait"
	"github.com/qscale/qscale/worker"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	good := Defaults()
	good.QueueURL, good.Command = "http://127.0.0.1:9324/000000000000/q", []string{"true"}
	if err := good.Validate(); err != nil {
		t.Fatalf("good options: %v", err)
	}
	bad := map[string]func(o *Options){
		"no queue":           func(o *Options) { o.QueueURL = "" },
		"no handler":         func(o *Options) { o.Command = nil },
		"two handlers":       func(o *Options) { o.Demo = time.Millisecond },
		"start without http": func(o *Options) { o.HTTPStart = "app" },
		"wait":               func(o *Options) { o.Wait = 21 * time.Second },
		"grace":              func(o *Options) { o.Grace = -time.Second },
		"retry":              func(o *Options) { o.RetryDelay = time.Hour },
		"http url":           func(o *Options) { o.Command, o.HTTPURL = nil, "/path-only" },
		"status addr":        func(o *Options) { o.StatusAddr = "nope" },
		"negative demo":      func(o *Options) { o.Command, o.Demo = nil, -time.Second },
	}
	for name, change := range bad {
		o := good
		change(&o)
		var oe *OptionsError
		if err := o.Validate(); !errors.As(err, &oe) {
			t.Errorf("%s: %v, want an *OptionsError", name, err)
		}
	}
}

func TestReadyAddr(t *testing.T) {
	t.Parallel()
	for url, want := range map[string]string{
		"http://127.0.0.1:8080/work": "127.0.0.1:8080",
		"http://localhost/work":      "localhost:80",
		"https://localhost/work":     "localhost:443",
	} {
		if got := (Options{HTTPURL: url}).readyAddr(); got != want {
			t.Errorf("%s: %q, want %q", url, got, want)
		}
	}
}

func TestDemo(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := demo(time.Hour)(ctx, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled demo handler returned %v", err)
	}
	if err := demo(time.Microsecond)(t.Context(), nil); err != nil {
		t.Fatalf("demo handler: %v", err)
	}
}

// logFile is where Run logs: a file, which takes concurrent writes.
type logFile struct{ *os.File }

func (l *logFile) String() string {
	b, _ := os.ReadFile(l.Name())
	return string(b)
}

// setup starts qscale's in-memory server with one queue and returns options
// for a demo worker on it.
func setup(t *testing.T) (Options, *sqs.Client, *logFile) {
	t.Parallel()
	endpoint := testserver.Start(t)
	api := sqs.New(sqs.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	out, err := api.CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String("jobs")})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	log := &logFile{f}
	o := Defaults()
	o.QueueURL, o.Demo, o.Log, o.Wait = *out.QueueUrl, time.Millisecond, log, 2*time.Second
	o.Region = "us-east-1"
	return o, api, log
}

// TestRunStopsWhenContextEnds: the assembled process takes messages until
// its context ends, then says what it waits for, stops within the long
// poll and writes "stopped" as the status file's last document.
func TestRunStopsWhenContextEnds(t *testing.T) {
	o, api, log := setup(t)
	o.StatusFile = filepath.Join(t.TempDir(), "status.json")
	o.StatusAddr = "127.0.0.1:0"
	for _, b := range []string{"a", "b", "c"} {
		if _, err := api.SendMessage(t.Context(), &sqs.SendMessageInput{QueueUrl: &o.QueueURL, MessageBody: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, o) }()

	deadline := time.Now().Add(20 * time.Second)
	var rep worker.Report
	for rep.Counts.Succeeded < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("3 messages not handled: %+v\n%s", rep, log.String())
		}
		if b, err := os.ReadFile(o.StatusFile); err == nil {
			_ = json.Unmarshal(b, &rep)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v\n%s", err, log.String())
		}
	case <-time.After(o.Wait + 10*time.Second):
		t.Fatalf("Run still running %v after the stop\n%s", o.Wait+10*time.Second, log.String())
	}
	if !strings.Contains(log.String(), "stopping: no new receives; finishing the receive in progress (long poll, at most 2s)") {
		t.Errorf("no explanation of the stop in the log:\n%s", log.String())
	}
	b, err := os.ReadFile(o.StatusFile)
	if err != nil || json.Unmarshal(b, &rep) != nil || rep.State != worker.StateStopped || rep.Counts.Succeeded != 3 {
		t.Fatalf("last status %s (%v)", b, err)
	}
}

// TestRunBadQueue: a queue that does not exist ends Run at once with an
// error that is not an options mistake.
func TestRunBadQueue(t *testing.T) {
	o, _, _ := setup(t)
	o.QueueURL = strings.TrimSuffix(o.QueueURL, "jobs") + "missing"
	err := Run(t.Context(), o)
	var oe *OptionsError
	if err == nil || errors.As(err, &oe) {
		t.Fatalf("Run on a missing queue: %v", err)
	}
}

// TestRunBadWorkerConfig: settings the runtime refuses are options
// mistakes too.
func TestRunBadWorkerConfig(t *testing.T) {
	o, _, _ := setup(t)
	o.Visibility = 10 * time.Millisecond
	var oe *OptionsError
	if err := Run(t.Context(), o); !errors.As(err, &oe) {
		t.Fatalf("Run with a 10ms visibility: %v, want an *OptionsError", err)
	}
}

// TestStatusEndpointRefusesOtherSites: a page of another site cannot drain
// the worker through the browser (a form POST to /drain), nor reach it by a
// rebound name; a fleet's read by IP address still works.
func TestStatusEndpointRefusesOtherSites(t *testing.T) {
	o, _, log := setup(t)
	o.StatusFile = filepath.Join(t.TempDir(), "status.json")
	o.StatusAddr = "127.0.0.1:0"
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, o) }()
	defer func() { cancel(); <-done }()

	var rep worker.Report
	testwait.For(t, 20*time.Second, "the status endpoint's address in the status file", func() bool {
		b, err := os.ReadFile(o.StatusFile)
		return err == nil && json.Unmarshal(b, &rep) == nil && rep.StatusAddr != ""
	})
	base := "http://" + rep.StatusAddr
	do := func(method, path string, header ...string) int {
		req, err := http.NewRequest(method, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(header); i += 2 {
			if header[i] == "Host" {
				req.Host = header[i+1]
				continue
			}
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, log.String())
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := do("POST", "/drain", "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"); got != http.StatusForbidden {
		t.Errorf("cross-site POST /drain: %d, want 403", got)
	}
	if got := do("GET", "/status", "Host", "rebound.example"); got != http.StatusForbidden {
		t.Errorf("GET /status by a rebound name: %d, want 403", got)
	}
	if got := do("GET", "/status"); got != http.StatusOK {
		t.Errorf("GET /status by IP address: %d, want 200", got)
	}
}
