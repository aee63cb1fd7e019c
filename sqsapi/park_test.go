package sqsapi_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/qscale/qscale/internal/testwait"
	"github.com/qscale/qscale/queue"
	"github.com/qscale/qscale/sqsapi"
)

// handBackListener is a listener whose Accept also returns connections
// handed back with reuse, the way server.Start serves parked polls.
type handBackListener struct {
	net.Listener
	back chan net.Conn
	acc  chan net.Conn
}

func (l *handBackListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.back:
		return c, nil
	case c, ok := <-l.acc:
		if !ok {
			return nil, net.ErrClosed
		}
		return c, nil
	}
}

// parkQueue opens an in-memory engine with one queue, stopped when tb ends.
func parkQueue(tb testing.TB, name string) (*queue.Engine, *queue.Queue) {
	tb.Helper()
	e, err := queue.Open(context.Background(), queue.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { e.Stop(context.Background()) })
	q, err := e.CreateQueue(context.Background(), name, nil, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return e, q
}

// handBack listens on loopback and serves what wrap (nil: the listener
// itself) accepts, taking back the connections a handler hands back
// through its Reuse option, as qscale server's listener does.
func handBack(tb testing.TB, wrap func(net.Listener) net.Listener) *handBackListener {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	inner := ln
	if wrap != nil {
		inner = wrap(ln)
	}
	l := &handBackListener{Listener: ln, back: make(chan net.Conn, 1), acc: make(chan net.Conn)}
	go func() {
		defer close(l.acc)
		for {
			c, err := inner.Accept()
			if err != nil {
				return
			}
			l.acc <- c
		}
	}()
	return l
}

// A connection whose parked poll was answered keeps net/http's idle rules:
// a client may take longer than ReadHeaderTimeout before its next request
// (a worker processing what it received) and still be served; a client
// that sends nothing for IdleTimeout is closed.
func TestParkedConnectionWaitsForTheNextRequest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, q := parkQueue(t, "idle")
	l := handBack(t, nil)
	const headerTimeout, idleTimeout = 100 * time.Millisecond, 600 * time.Millisecond
	h := sqsapi.NewHandler(e, sqsapi.Options{Reuse: func(c net.Conn) { l.back <- c }, IdleTimeout: idleTimeout})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: headerTimeout, IdleTimeout: idleTimeout}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close(); h.CloseIdle() })

	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	poll := func(wait int) {
		t.Helper()
		body := fmt.Sprintf(`{"QueueUrl":"/000000000000/idle","WaitTimeSeconds":%d}`, wait)
		fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Target: AmazonSQS.ReceiveMessage\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	}
	answer := func() string {
		t.Helper()
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
		return string(b)
	}
	parked := q.WaiterAdded()
	poll(20)
	<-parked
	if _, err := q.Send(ctx, queue.SendInput{Body: "work"}); err != nil {
		t.Fatal(err)
	}
	if got := answer(); !strings.Contains(got, `"Body":"work"`) {
		t.Fatalf("first answer %s", got)
	}
	// Longer than ReadHeaderTimeout, shorter than IdleTimeout: net/http's
	// deadlines are in real time, so the client waits in real time.
	time.Sleep(3 * headerTimeout)
	poll(0)
	if got := answer(); got != "{}" {
		t.Fatalf("second answer %s", got)
	}
	// The second poll was not parked (WaitTimeSeconds 0), so net/http
	// keeps the connection; park a third, answer it, then stay silent.
	parked = q.WaiterAdded()
	poll(20)
	<-parked
	if _, err := q.Send(ctx, queue.SendInput{Body: "more"}); err != nil {
		t.Fatal(err)
	}
	answer()
	conn.SetReadDeadline(time.Now().Add(10 * idleTimeout))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("an idle connection: %v, want it closed after IdleTimeout", err)
	}
}

// opaqueListener hides its connections' descriptors (as a wrapping
// listener might), so parked polls watch them with a goroutine each.
type opaqueListener struct{ net.Listener }

type opaqueConn struct{ net.Conn }

func (l opaqueListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return opaqueConn{c}, nil
}

// A parked poll whose client leaves ends at once and takes nothing, both
// where the shared hangup watcher sees the connection and where a
// goroutine of its own watches it; a pipelined request is served after
// the answer on both.
func TestParkedPollNoticesTheClient(t *testing.T) {
	t.Parallel()
	for _, opaque := range []bool{false, true} {
		t.Run(fmt.Sprintf("opaque=%v", opaque), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e, q := parkQueue(t, "idle")
			var wrap func(net.Listener) net.Listener
			if opaque {
				wrap = func(ln net.Listener) net.Listener { return opaqueListener{ln} }
			}
			l := handBack(t, wrap)
			h := sqsapi.NewHandler(e, sqsapi.Options{Reuse: func(c net.Conn) { l.back <- c }})
			srv := &http.Server{Handler: h}
			go srv.Serve(l)
			t.Cleanup(func() { srv.Close(); h.CloseIdle() })
			poll := func(conn net.Conn) {
				body := `{"QueueUrl":"/000000000000/idle","WaitTimeSeconds":20}`
				fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Target: AmazonSQS.ReceiveMessage\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
			}

			// Pipelined: a second poll sent while the first is parked.
			conn, err := net.Dial("tcp", l.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			parked := q.WaiterAdded()
			poll(conn)
			<-parked
			poll(conn)
			if _, err := q.Send(ctx, queue.SendInput{Body: "one"}); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			if !strings.Contains(string(b), `"Body":"one"`) {
				t.Fatalf("first answer %s", b)
			}
			testwait.For(t, 10*time.Second, "the pipelined poll to park", func() bool { return q.Waiting() == 1 })
			if _, err := q.Send(ctx, queue.SendInput{Body: "two"}); err != nil {
				t.Fatal(err)
			}
			if resp, err = http.ReadResponse(br, nil); err != nil {
				t.Fatal(err)
			}
			b, _ = io.ReadAll(resp.Body)
			if !strings.Contains(string(b), `"Body":"two"`) {
				t.Fatalf("pipelined answer %s", b)
			}

			// Leaving: the poll ends, and a message sent after is not lost.
			parked = q.WaiterAdded()
			poll(conn)
			<-parked
			conn.Close()
			testwait.For(t, 10*time.Second, "the parked poll to end", func() bool { return q.Waiting() == 0 })
			if _, err := q.Send(ctx, queue.SendInput{Body: "kept"}); err != nil {
				t.Fatal(err)
			}
			wait := time.Duration(0)
			ds, err := q.Receive(ctx, queue.ReceiveInput{Max: 10, Wait: &wait})
			if err != nil || len(ds) != 1 || ds[0].Body != "kept" {
				t.Fatalf("after the client left: %+v, %v", ds, err)
			}
		})
	}
}
