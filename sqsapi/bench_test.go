package sqsapi_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/qscale/qscale/queue"
	"github.com/qscale/qscale/sqsapi"
)

// BenchmarkServeRequest is the handler's cost of one JSON request of 1 KiB
// (a GetQueueUrl with a padding field, so that the engine does little):
// reading the body, decoding, the answer.
func BenchmarkServeRequest(b *testing.B) {
	e, err := queue.Open(context.Background(), queue.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Stop(context.Background())
	if _, err := e.CreateQueue(context.Background(), "bench", nil, nil); err != nil {
		b.Fatal(err)
	}
	h := sqsapi.NewHandler(e, sqsapi.Options{})
	body := `{"QueueName":"bench","Padding":"` + strings.Repeat("x", 1024) + `"}`
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-amz-json-1.0")
		req.Header.Set("X-Amz-Target", "AmazonSQS.GetQueueUrl")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkParkedPollRound is the server's cost of one round of a worker's
// long poll on a connection: the poll finds the queue empty and parks, a
// message arrives, the answer is written, and the client polls again.
func BenchmarkParkedPollRound(b *testing.B) {
	ctx := context.Background()
	e, q := parkQueue(b, "bench")
	l := handBack(b, nil)
	h := sqsapi.NewHandler(e, sqsapi.Options{Reuse: func(c net.Conn) { l.back <- c }})
	srv := &http.Server{Handler: h}
	go srv.Serve(l)
	defer func() { srv.Close(); h.CloseIdle() }()
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	body := `{"QueueUrl":"/000000000000/bench","WaitTimeSeconds":20,"MaxNumberOfMessages":10}`
	req := fmt.Sprintf("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.0\r\n"+
		"X-Amz-Target: AmazonSQS.ReceiveMessage\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	br := bufio.NewReader(conn)
	b.ReportAllocs()
	for b.Loop() {
		parked := q.WaiterAdded()
		if _, err := io.WriteString(conn, req); err != nil {
			b.Fatal(err)
		}
		<-parked
		if _, err := q.Send(ctx, queue.SendInput{Body: "work"}); err != nil {
			b.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}

// BenchmarkParkedPollMemory parks one more idle long poll per iteration,
// each on a connection of its own, and reports what a parked poll keeps
// after a collection: live heap bytes and goroutines per poll (the
// client's end of each socket included, which holds no goroutine).
func BenchmarkParkedPollMemory(b *testing.B) {
	e, q := parkQueue(b, "bench")
	l := handBack(b, nil)
	h := sqsapi.NewHandler(e, sqsapi.Options{Reuse: func(c net.Conn) { l.back <- c }})
	srv := &http.Server{Handler: h}
	go srv.Serve(l)
	defer func() { srv.Close(); h.CloseIdle() }()
	body := `{"QueueUrl":"/000000000000/bench","WaitTimeSeconds":20,"MaxNumberOfMessages":10}`
	req := fmt.Sprintf("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.0\r\n"+
		"X-Amz-Target: AmazonSQS.ReceiveMessage\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	g0 := runtime.NumGoroutine()
	n := 0
	for b.Loop() {
		conn, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, conn)
		parked := q.WaiterAdded()
		if _, err := io.WriteString(conn, req); err != nil {
			b.Fatal(err)
		}
		<-parked
		n++
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(n), "heap-B/poll")
	b.ReportMetric(float64(runtime.NumGoroutine()-g0)/float64(n), "goroutines/poll")
}
