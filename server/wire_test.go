package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/qscale/qscale/internal/testserver"
	"github.com/qscale/qscale/server"
	"github.com/qscale/qscale/sqsapi"
)

// dial opens a raw connection to the server at endpoint (http://host:port).
func dial(t *testing.T, endpoint string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(endpoint, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// headers is the head of a JSON-protocol SendMessage whose body is n bytes.
func headers(n int) string {
	return fmt.Sprintf("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.0\r\n"+
		"X-Amz-Target: AmazonSQS.SendMessage\r\nContent-Length: %d\r\n\r\n", n)
}

// Without access keys, the server refuses to listen beyond this machine
// unless told that this is meant.
func TestUnauthenticatedListenBeyondLoopbackRefused(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
		_, err := server.Start(t.Context(), server.Config{Listen: addr, InMemory: true})
		if err == nil || !strings.Contains(err.Error(), "--insecure-no-auth") {
			t.Errorf("listen %s without keys: %v", addr, err)
		}
	}
	// localhost and loopback addresses need no keys.
	for _, addr := range []string{"localhost:0", "127.0.0.2:0"} {
		s, err := server.Start(t.Context(), server.Config{Listen: addr, InMemory: true})
		if err != nil {
			t.Errorf("listen %s: %v", addr, err)
			continue
		}
		s.Stop(context.Background())
	}
}

// Header-only connections that announce the largest body allowed cost no
// memory for it: the buffer grows as bytes arrive, not from Content-Length
// (it used to be allocated up front: 90 such connections took a gibibyte).
// Not parallel: it measures the process's allocations.
func TestHeaderOnlyConnectionsAllocateNoBody(t *testing.T) {
	const conns = 90
	s := testserver.StartConfig(t, server.Config{BodyTimeout: time.Second})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var wg sync.WaitGroup
	answers := make(chan string, conns)
	for range conns {
		c := dial(t, s.URL())
		if _, err := io.WriteString(c, headers(sqsapi.MaxRequestBody)); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetReadDeadline(time.Now().Add(30 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				answers <- err.Error()
				return
			}
			resp.Body.Close()
			answers <- resp.Status
		}()
	}
	wg.Wait()
	runtime.ReadMemStats(&after)
	close(answers)
	for a := range answers {
		if !strings.HasPrefix(a, "408") {
			t.Errorf("a connection that sent no body got %q, want 408 when its body timed out", a)
		}
	}
	grew := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d header-only connections announcing %d bytes each: %.1f MiB allocated in all",
		conns, sqsapi.MaxRequestBody, float64(grew)/(1<<20))
	if limit := uint64(conns * 128 << 10); grew > limit {
		t.Errorf("%d header-only connections allocated %d bytes; want under %d (no body buffer from Content-Length)", conns, grew, limit)
	}
}

// Bodies in flight share a memory budget: past it a request is answered
// ServiceUnavailable (which SDKs retry) instead of growing the heap.
func TestBodyMemoryIsBounded(t *testing.T) {
	t.Parallel()
	s := testserver.StartConfig(t, server.Config{MaxBodyMemory: 256 << 10, BodyTimeout: time.Minute})
	// Each client sends 100 KiB of a 200 KiB body and stops: its buffer
	// has grown to 128 KiB, so the third cannot have its share.
	var refused []string
	for range 3 {
		c := dial(t, s.URL())
		io.WriteString(c, headers(200<<10))
		c.Write(make([]byte, 100<<10))
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err == nil {
			resp.Body.Close()
			refused = append(refused, resp.Status+" "+resp.Header.Get("x-amzn-query-error"))
		}
	}
	if len(refused) != 1 || !strings.Contains(refused[0], "503") || !strings.Contains(refused[0], "ServiceUnavailable") {
		t.Fatalf("answers to three half-sent 200 KiB bodies under a 256 KiB budget: %q; want one ServiceUnavailable", refused)
	}
}

// When the connection cap is reached by clients that trickle their bodies,
// a client with a real request still gets its answer: the slow ones are cut
// for sending below the minimum rate, and the cap is never exceeded (so the
// file descriptors last).
func TestConnectionCapWithSlowClients(t *testing.T) {
	t.Parallel()
	const limit = 4
	s := testserver.StartConfig(t, server.Config{MaxConnections: limit, BodyTimeout: 500 * time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	var most sync.Mutex
	peak := 0
	go func() { // watch the number of open connections
		for ctx.Err() == nil {
			n := s.OpenConnections()
			most.Lock()
			peak = max(peak, n)
			most.Unlock()
			time.Sleep(time.Millisecond)
		}
	}()
	var wg sync.WaitGroup
	for range 4 * limit {
		wg.Add(1)
		go func() { // a slow client: one byte every 100 ms, and again when cut
			defer wg.Done()
			for ctx.Err() == nil {
				c, err := net.Dial("tcp", strings.TrimPrefix(s.URL(), "http://"))
				if err != nil {
					return
				}
				io.WriteString(c, headers(1000))
				for ctx.Err() == nil {
					if _, err := c.Write([]byte{'x'}); err != nil {
						break
					}
					select {
					case <-time.After(100 * time.Millisecond):
					case <-ctx.Done():
					}
				}
				c.Close()
			}
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.OpenConnections() < limit && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := s.OpenConnections(); n != limit {
		t.Fatalf("%d connections open; the slow clients should have filled all %d", n, limit)
	}

	rctx, rcancel := context.WithTimeout(ctx, 20*time.Second)
	defer rcancel()
	start := time.Now()
	if _, err := newClient(s.URL()).ListQueues(rctx, &sqs.ListQueuesInput{}); err != nil {
		t.Fatalf("a real request while slow clients hold every connection: %v", err)
	}
	t.Logf("answered after %v with %d slow clients and a cap of %d", time.Since(start).Round(time.Millisecond), 4*limit, limit)
	cancel()
	wg.Wait()
	most.Lock()
	defer most.Unlock()
	if peak > limit {
		t.Errorf("%d connections were open at once; the cap is %d", peak, limit)
	}
}

// Connections left open between requests (keep-alive) do not keep a new
// client out when the cap is reached: the idle ones are closed for it.
func TestConnectionCapClosesIdleConnections(t *testing.T) {
	t.Parallel()
	const limit = 3
	s := testserver.StartConfig(t, server.Config{MaxConnections: limit})
	body := `{"QueueNamePrefix":"x"}`
	for range limit {
		c := dial(t, s.URL())
		io.WriteString(c, strings.Replace(headers(len(body)), "SendMessage", "ListQueues", 1)+body)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("request on a kept connection: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := newClient(s.URL()).ListQueues(ctx, &sqs.ListQueuesInput{}); err != nil {
		t.Fatalf("a new client while %d idle connections fill the cap: %v", limit, err)
	}
}

// Filling the cap with idle connections closes none of them: an idle
// connection is closed only for a client that is waiting, so every kept
// connection still serves its next request.
func TestConnectionCapKeepsIdleConnectionsUntilAClientWaits(t *testing.T) {
	t.Parallel()
	const limit = 3
	s := testserver.StartConfig(t, server.Config{MaxConnections: limit})
	body := `{"QueueNamePrefix":"x"}`
	req := strings.Replace(headers(len(body)), "SendMessage", "ListQueues", 1) + body
	type kept struct {
		c  net.Conn
		br *bufio.Reader
	}
	var conns []kept
	for range 2 {
		for i := range limit {
			if len(conns) < limit {
				c := dial(t, s.URL())
				conns = append(conns, kept{c, bufio.NewReader(c)})
			}
			k := conns[i]
			io.WriteString(k.c, req)
			resp, err := http.ReadResponse(k.br, nil)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("request on kept connection %d of %d: %v %v", i+1, limit, resp, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
}
