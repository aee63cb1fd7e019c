package server_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/qscale/qscale/internal/testwait"
	"github.com/qscale/qscale/queue"
	"github.com/qscale/qscale/server"
)

// capSetup starts an in-memory server capped at limit connections, with
// an empty queue "idle".
func capSetup(t *testing.T, limit int) (*server.Server, *queue.Queue, string) {
	t.Helper()
	t.Parallel()
	s := startOps(t, server.Config{InMemory: true, MaxConnections: limit})
	q, err := s.Engine.CreateQueue(context.Background(), "idle", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s, q, s.URL() + "/000000000000/idle"
}

// pollParked sends a long poll on a new raw connection and waits until it
// is parked, which needs a free connection slot.
func pollParked(t *testing.T, s *server.Server, q *queue.Queue, url string) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn := dialPark(t, s)
	parked := q.WaiterAdded()
	rawPoll(t, conn, url, "")
	select {
	case <-parked:
	case <-time.After(10 * time.Second):
		t.Fatalf("a new client's poll was not served in 10s with %d connections open", s.OpenConnections())
	}
	return conn, bufio.NewReader(conn)
}

// answerPoll sends body to q through the engine (no connection needed) and
// reads the parked poll's answer from br (over conn).
func answerPoll(t *testing.T, q *queue.Queue, conn net.Conn, br *bufio.Reader, body string) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer conn.SetReadDeadline(time.Time{})
	if _, err := q.Send(context.Background(), queue.SendInput{Body: body}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("the answer to a parked poll: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Close || !strings.Contains(string(b), `"Body":"`+body+`"`) {
		t.Fatalf("the answer to a parked poll: %d close=%v %s", resp.StatusCode, resp.Close, b)
	}
}

// closedByServer reports whether the server closed conn: a read ends at
// once with EOF, not with its deadline.
func closedByServer(t *testing.T, br *bufio.Reader, conn net.Conn) bool {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(time.Second))
	defer conn.SetReadDeadline(time.Time{})
	n, err := br.Read(make([]byte, 1))
	if n > 0 {
		t.Fatalf("unexpected bytes from the server")
	}
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

// Connections whose parked poll was answered, waiting for their client's
// next request, do not keep a new client out when the cap is reached: they
// are closed for it, as net/http's idle keep-alive connections are. Those
// kept go on serving their clients.
func TestConnectionCapClosesConnectionsIdleAfterAParkedPoll(t *testing.T) {
	const limit = 3
	s, q, url := capSetup(t, limit)
	conns := make([]net.Conn, limit)
	brs := make([]*bufio.Reader, limit)
	for i := range limit {
		conns[i], brs[i] = pollParked(t, s, q, url)
		answerPoll(t, q, conns[i], brs[i], fmt.Sprintf("m%d", i))
	}
	if n := s.OpenConnections(); n != limit {
		t.Fatalf("%d connections open, want %d", n, limit)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := newClient(s.URL()).ListQueues(ctx, &sqs.ListQueuesInput{}); err != nil {
		t.Fatalf("a new client while %d connections idle after parked polls fill the cap: %v", limit, err)
	}

	closed := 0
	kept := make([]bool, limit)
	for i := range limit {
		kept[i] = !closedByServer(t, brs[i], conns[i])
		if !kept[i] {
			closed++
		}
	}
	for i := range limit {
		if !kept[i] {
			continue
		}
		// A connection left open serves its client's next request
		// (its slot is its own: no new one is needed).
		io.WriteString(conns[i], getQueueURLRequest(conns[i]))
		conns[i].SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(brs[i], nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("a request on a connection kept at the cap: %v %v", resp, err)
		}
		io.Copy(io.Discard, resp.Body)
	}
	// The limiter keeps one slot ready for the next client as long as
	// idle connections can give it: one closed for the new client, and
	// one more, at most, for the one after it.
	if closed < 1 || closed == limit {
		t.Errorf("%d of %d idle connections closed for one new client, want 1 or 2", closed, limit)
	}
	// Each answered poll counts once in the request metrics.
	if v, _ := value(scrape(t, http.DefaultClient, s.AdminURL()), "qscale_sqs_request_duration_seconds", "action", "ReceiveMessage"); v != limit {
		t.Errorf("%v ReceiveMessage requests counted, want %d", v, limit)
	}
}

// A connection whose poll is parked, waiting for messages, is serving a
// request: the cap never closes it to let a client in, however often it
// closes idle ones; its client still gets its message, and its leaving is
// still noticed.
func TestConnectionCapKeepsParkedPollsInProgress(t *testing.T) {
	const limit, rounds = 2, 6
	s, q, url := capSetup(t, limit)
	waiting, waitingBr := pollParked(t, s, q, url)

	// Each round's client needs the slot the previous round's client
	// holds, idle after its answered poll: the cap closes that one, and
	// must leave the waiting poll alone (if both were candidates, each
	// round would pick the waiting one half of the time).
	otherQ, err := s.Engine.CreateQueue(context.Background(), "other", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	otherURL := s.URL() + "/000000000000/other"
	var prev net.Conn
	var prevBr *bufio.Reader
	for round := range rounds {
		conn, br := pollParked(t, s, otherQ, otherURL)
		if prev != nil && !closedByServer(t, prevBr, prev) {
			t.Fatalf("round %d: the idle connection was not the one closed", round)
		}
		answerPoll(t, otherQ, conn, br, fmt.Sprintf("r%d", round))
		prev, prevBr = conn, br
	}
	if q.Waiting() != 1 {
		t.Fatalf("%d polls wait on the queue, want 1", q.Waiting())
	}
	answerPoll(t, q, waiting, waitingBr, "kept")
	if v, _ := value(scrape(t, http.DefaultClient, s.AdminURL()), "qscale_sqs_request_duration_seconds", "action", "ReceiveMessage"); v != rounds+1 {
		t.Errorf("%v ReceiveMessage requests counted, want %d", v, rounds+1)
	}

	// A poll parked at the cap still ends when its client leaves. (The
	// connection answered above is idle now: the cap may close it.)
	conn, _ := pollParked(t, s, q, url)
	conn.Close()
	testwait.For(t, 10*time.Second, "the parked poll to end", func() bool { return q.Waiting() == 0 })
}

// getQueueURLRequest is a JSON GetQueueUrl for the queue "idle".
func getQueueURLRequest(conn net.Conn) string {
	const body = `{"QueueName":"idle"}`
	return fmt.Sprintf("POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-amz-json-1.0\r\n"+
		"X-Amz-Target: AmazonSQS.GetQueueUrl\r\nContent-Length: %d\r\n\r\n%s", conn.RemoteAddr(), len(body), body)
}
