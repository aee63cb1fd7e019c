package workerstatus_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/qscale/qscale/internal/testserver"
	"github.com/qscale/qscale/worker"
	"github.com/qscale/qscale/worker/sqsclient"
	"github.com/qscale/qscale/worker/workerstatus"
)

// realWorker runs a worker on qscale's in-memory server whose handler
// holds each message until release is closed, and serves its status with
// the worker's own handler (worker.Reporter). It returns the status
// address.
func realWorker(t *testing.T) (w *worker.Worker, addr string, send func(string), started <-chan struct{}, release chan struct{}) {
	t.Helper()
	endpoint := testserver.Start(t)
	q, api, err := sqsclient.Dial(t.Context(), sqsclient.Options{QueueURL: endpoint + "/000000000000/jobs"})
	if err != nil {
		t.Fatal(err)
	}
	out, err := api.CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String("jobs")})
	if err != nil {
		t.Fatal(err)
	}
	st, rel := make(chan struct{}, 10), make(chan struct{})
	w, err = worker.New(worker.Config{
		Queue: q,
		Wait:  100 * time.Millisecond,
		Handler: func(ctx context.Context, m *worker.Message) error {
			st <- struct{}{}
			select {
			case <-rel:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(&worker.Reporter{Worker: w, QueueURL: *out.QueueUrl})
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = w.Stop(ctx)
	})
	send = func(body string) {
		if _, err := api.SendMessage(t.Context(), &sqs.SendMessageInput{QueueUrl: out.QueueUrl, MessageBody: aws.String(body)}); err != nil {
			t.Fatal(err)
		}
	}
	return w, srv.Listener.Addr().String(), send, st, rel
}

// The client reads a real worker's status through its idle, busy and
// draining states, and drains it.
func TestClientAgainstWorker(t *testing.T) {
	t.Parallel()
	w, addr, send, started, release := realWorker(t)
	var c workerstatus.Client

	if err := c.Healthy(t.Context(), addr); err != nil {
		t.Fatal(err)
	}
	rep, err := c.Status(t.Context(), addr)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Version != workerstatus.Version || rep.State != workerstatus.Idle || rep.InFlight != 0 || rep.QueueURL == "" {
		t.Fatalf("idle worker: %+v", rep)
	}
	if cl := (workerstatus.Candidate{Report: rep}).Class(); cl != workerstatus.ClassIdle {
		t.Fatalf("idle worker ranks %v", cl)
	}

	send("job")
	<-started
	rep, err = c.Status(t.Context(), addr)
	if err != nil {
		t.Fatal(err)
	}
	if rep.State != workerstatus.Busy || rep.InFlight != 1 || rep.Running != 1 {
		t.Fatalf("busy worker: %+v", rep)
	}

	rep, err = c.Drain(t.Context(), addr)
	if err != nil {
		t.Fatal(err)
	}
	if rep.State != workerstatus.Draining || rep.InFlight != 1 {
		t.Fatalf("drain answer: %+v, want draining with the message in hand", rep)
	}
	if cl := (workerstatus.Candidate{Report: rep}).Class(); cl != workerstatus.ClassBusy {
		t.Fatalf("a draining worker with a message ranks %v, want busy", cl)
	}
	close(release)
	<-w.Done()
	rep, err = c.Status(t.Context(), addr)
	if err != nil {
		t.Fatal(err)
	}
	if rep.State != workerstatus.Stopped || rep.Counts.Succeeded != 1 {
		t.Fatalf("after the drain: %+v", rep)
	}
}

// The client's errors: wrong answers, a worker that does not answer in
// time, a refused connection, no address.
func TestClientErrors(t *testing.T) {
	t.Parallel()
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/status":
			switch r.Host[:strings.IndexByte(r.Host, ':')] {
			case "127.0.0.1":
				_, _ = w.Write([]byte(`{"version":2,"state":"idle"}`))
			default:
				_, _ = w.Write([]byte(`<html>`))
			}
		case "/drain":
			http.Error(w, "no", http.StatusServiceUnavailable)
		case "/healthz":
			<-hang
		}
	}))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	c := workerstatus.Client{Timeout: 200 * time.Millisecond}

	if _, err := c.Status(t.Context(), "127.0.0.1:"+port); !errors.Is(err, workerstatus.ErrVersion) {
		t.Errorf("version 2: %v, want ErrVersion", err)
	}
	if _, err := c.Status(t.Context(), "localhost:"+port); !errors.Is(err, workerstatus.ErrDocument) || !strings.Contains(err.Error(), "/status") {
		t.Errorf("HTML: %v, want ErrDocument naming the URL", err)
	}
	if _, err := c.Drain(t.Context(), "127.0.0.1:"+port); err == nil || !strings.Contains(err.Error(), "POST") || !strings.Contains(err.Error(), "503") {
		t.Errorf("drain refused: %v", err)
	}
	begin := time.Now()
	if err := c.Healthy(t.Context(), "127.0.0.1:"+port); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hanging worker: %v, want a deadline error", err)
	}
	if d := time.Since(begin); d > 5*time.Second {
		t.Errorf("the 200 ms timeout took %v", d)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.Status(ctx, "127.0.0.1:"+port); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled ctx: %v", err)
	}
	if _, err := c.Status(t.Context(), ""); err == nil || !strings.Contains(err.Error(), "no status address") {
		t.Errorf("no address: %v", err)
	}
	close(hang)
	srv.Close()
	if _, err := c.Status(t.Context(), "127.0.0.1:"+port); err == nil {
		t.Error("a closed server answered")
	}
}
