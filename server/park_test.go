package server_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/qscale/qscale/internal/testwait"
	"github.com/qscale/qscale/queue"
	"github.com/qscale/qscale/server"
)

// parkSetup starts an in-memory server with an empty queue "idle".
func parkSetup(t *testing.T) (*server.Server, *queue.Queue, string) {
	t.Helper()
	t.Parallel()
	s := startOps(t, server.Config{InMemory: true})
	q, err := s.Engine.CreateQueue(context.Background(), "idle", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s, q, s.URL() + "/000000000000/idle"
}

// rawPoll writes a JSON ReceiveMessage with WaitTimeSeconds 20 on conn.
func rawPoll(t *testing.T, conn net.Conn, queueURL string, extraHeader string) {
	t.Helper()
	body := fmt.Sprintf(`{"QueueUrl":%q,"WaitTimeSeconds":20,"MessageSystemAttributeNames":["ApproximateReceiveCount"]}`, queueURL)
	_, err := fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-amz-json-1.0\r\n"+
		"X-Amz-Target: AmazonSQS.ReceiveMessage\r\n%sContent-Length: %d\r\n\r\n%s", conn.RemoteAddr(), extraHeader, len(body), body)
	if err != nil {
		t.Fatal(err)
	}
}

func dialPark(t *testing.T, s *server.Server) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// A parked long poll is answered when a message arrives, and its
// connection then serves the client's next request.
func TestParkedLongPollAnswersAndKeepsTheConnection(t *testing.T) {
	s, q, url := parkSetup(t)
	conn := dialPark(t, s)
	br := bufio.NewReader(conn)
	c := newClient(s.URL())
	for round := range 3 {
		parked := q.WaiterAdded()
		rawPoll(t, conn, url, "")
		<-parked
		// A parked poll counts in the request metrics once answered, with
		// the time it waited.
		if v, _ := value(scrape(t, http.DefaultClient, s.AdminURL()), "qscale_sqs_request_duration_seconds", "action", "ReceiveMessage"); v != float64(round) {
			t.Fatalf("round %d: %v ReceiveMessage requests counted while parked", round, v)
		}
		body := fmt.Sprintf("m%d", round)
		if _, err := c.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: &url, MessageBody: &body}); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || resp.Close || !strings.Contains(string(b), `"Body":"`+body+`"`) ||
			resp.Header.Get("Content-Type") != "application/x-amz-json-1.0" || resp.Header.Get("X-Amzn-Requestid") == "" {
			t.Fatalf("round %d: %d close=%v %v %s", round, resp.StatusCode, resp.Close, resp.Header, b)
		}
	}
	if v, _ := value(scrape(t, http.DefaultClient, s.AdminURL()), "qscale_sqs_request_duration_seconds", "action", "ReceiveMessage"); v != 3 {
		t.Fatalf("%v ReceiveMessage requests counted, want 3", v)
	}
}

// A client that goes away while its poll is parked takes nothing with it:
// the poll ends at once, and a message sent afterwards goes to the next
// receiver, never received before.
func TestParkedLongPollEndsWhenTheClientLeaves(t *testing.T) {
	s, q, url := parkSetup(t)
	conn := dialPark(t, s)
	parked := q.WaiterAdded()
	rawPoll(t, conn, url, "")
	<-parked
	conn.Close()
	testwait.For(t, 10*time.Second, "the parked poll to end", func() bool { return q.Waiting() == 0 })
	c := newClient(s.URL())
	ctx := context.Background()
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("kept")}); err != nil {
		t.Fatal(err)
	}
	out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{"ApproximateReceiveCount"}})
	if err != nil || len(out.Messages) != 1 || out.Messages[0].Attributes["ApproximateReceiveCount"] != "1" {
		t.Fatalf("after the client left: %+v, %v", out, err)
	}
}

// Errors of a parked poll go to its client in its protocol (here the
// queue is deleted under it).
func TestParkedLongPollError(t *testing.T) {
	s, q, url := parkSetup(t)
	conn := dialPark(t, s)
	parked := q.WaiterAdded()
	rawPoll(t, conn, url, "")
	<-parked
	if err := s.Engine.DeleteQueue(context.Background(), "idle"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !strings.Contains(string(b), "com.amazonaws.sqs#QueueDoesNotExist") ||
		resp.Header.Get("X-Amzn-Query-Error") != "AWS.SimpleQueueService.NonExistentQueue;Sender" {
		t.Fatalf("deleted queue: %d %v %s", resp.StatusCode, resp.Header, b)
	}
}

// Stopping the server answers parked polls (empty) and returns.
func TestStopAnswersParkedPolls(t *testing.T) {
	t.Parallel()
	s, err := server.Start(context.Background(), server.Config{Listen: "127.0.0.1:0", InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	q, err := s.Engine.CreateQueue(context.Background(), "idle", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	url := s.URL() + "/000000000000/idle"
	var conns []net.Conn
	for range 5 {
		conn := dialPark(t, s)
		parked := q.WaiterAdded()
		rawPoll(t, conn, url, "")
		<-parked
		conns = append(conns, conn)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	for i, conn := range conns {
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("poll %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(b) != "{}" {
			t.Fatalf("poll %d: %d %s", i, resp.StatusCode, b)
		}
	}
}

// A client that sends its next request before the parked poll's answer
// (pipelining) gets both answers, in order, on its connection.
func TestParkedLongPollPipelined(t *testing.T) {
	s, q, url := parkSetup(t)
	conn := dialPark(t, s)
	parked := q.WaiterAdded()
	rawPoll(t, conn, url, "")
	<-parked
	body := `{"QueueName":"idle"}`
	fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-amz-json-1.0\r\n"+
		"X-Amz-Target: AmazonSQS.GetQueueUrl\r\nContent-Length: %d\r\n\r\n%s", conn.RemoteAddr(), len(body), body)
	c := newClient(s.URL())
	if _, err := c.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("first")}); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	for _, want := range []string{`"Body":"first"`, `"QueueUrl":`} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Fatalf("pipelined: %d %s, want %s", resp.StatusCode, b, want)
		}
	}
}

// After a parked poll's answer the connection serves whatever the client
// sends next, whoever serves it (plain requests are served beside
// net/http, the others by net/http), and keeps the connection exactly when
// net/http would.
func TestParkedConnectionServesEveryNextRequest(t *testing.T) {
	t.Parallel()
	const body = `{"QueueName":"idle"}`
	jsonReq := func(host, extra string) string {
		return fmt.Sprintf("POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-amz-json-1.0\r\n"+
			"X-Amz-Target: AmazonSQS.GetQueueUrl\r\n%sContent-Length: %d\r\n\r\n%s", host, extra, len(body), body)
	}
	form := "Action=GetQueueUrl&QueueName=idle"
	for _, tc := range []struct {
		name   string
		req    func(host string) string
		status int
		want   string // in the answer's body
		kept   bool   // the connection serves a further poll
	}{
		{"json", func(h string) string { return jsonReq(h, "") }, 200, `"QueueUrl":`, true},
		{"bare line ends", func(h string) string { return strings.ReplaceAll(jsonReq(h, ""), "\r\n", "\n") }, 200, `"QueueUrl":`, true},
		{"query", func(h string) string {
			return fmt.Sprintf("POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s", h, len(form), form)
		}, 200, "<QueueUrl>", true},
		{"query in the URL", func(h string) string {
			return fmt.Sprintf("GET /?%s HTTP/1.1\r\nHost: %s\r\n\r\n", form, h)
		}, 200, "<QueueUrl>", true},
		{"chunked", func(h string) string {
			return fmt.Sprintf("POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-amz-json-1.0\r\n"+
				"X-Amz-Target: AmazonSQS.GetQueueUrl\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", h, len(body), body)
		}, 200, `"QueueUrl":`, true},
		{"expect continue", func(h string) string { return jsonReq(h, "Expect: 100-continue\r\n") }, 200, `"QueueUrl":`, true},
		{"large header", func(h string) string { return jsonReq(h, "X-Padding: "+strings.Repeat("p", 8<<10)+"\r\n") }, 200, `"QueueUrl":`, true},
		{"connection close", func(h string) string { return jsonReq(h, "Connection: close\r\n") }, 200, `"QueueUrl":`, false},
		{"HTTP/1.0", func(h string) string { return strings.Replace(jsonReq(h, ""), "HTTP/1.1", "HTTP/1.0", 1) }, 200, `"QueueUrl":`, false},
		{"unknown action", func(h string) string {
			return strings.Replace(jsonReq(h, ""), "GetQueueUrl", "Nope", 1)
		}, 400, "UnknownOperationException", true},
		{"malformed", func(h string) string { return "POST / HTTP/1.1\r\nHost: " + h + "\r\nContent-Length: x\r\n\r\n" }, 400, "", false},
	} {
		for _, overTLS := range []bool{false, true} {
			name := tc.name
			if overTLS {
				name += " over TLS"
			}
			t.Run(name, func(t *testing.T) {
				_, q, url, conn, c := parkedConnSetup(t, overTLS)
				br := bufio.NewReader(conn)
				// Two rounds: the second request also follows an answer
				// written beside net/http.
				for round := range 2 {
					parked := q.WaiterAdded()
					rawPoll(t, conn, url, "")
					<-parked
					if _, err := c.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("m")}); err != nil {
						t.Fatal(err)
					}
					resp, err := http.ReadResponse(br, nil)
					if err != nil {
						t.Fatalf("round %d, poll: %v", round, err)
					}
					io.Copy(io.Discard, resp.Body)
					if _, err := io.WriteString(conn, tc.req(conn.RemoteAddr().String())); err != nil {
						t.Fatal(err)
					}
					resp, err = http.ReadResponse(br, nil)
					if err == nil && resp.StatusCode == http.StatusContinue {
						resp, err = http.ReadResponse(br, nil)
					}
					if err != nil {
						t.Fatalf("round %d: %v", round, err)
					}
					b, _ := io.ReadAll(resp.Body)
					if resp.StatusCode != tc.status || !strings.Contains(string(b), tc.want) || resp.Close == tc.kept {
						t.Fatalf("round %d: %d close=%v %s", round, resp.StatusCode, resp.Close, b)
					}
					// Queue URLs keep the endpoint's scheme, also where
					// net/http serves a connection handed back to it.
					if strings.Contains(string(b), "QueueUrl") && !strings.Contains(string(b), url) {
						t.Fatalf("round %d: the queue URL is not %s: %s", round, url, b)
					}
					if !tc.kept {
						conn.SetReadDeadline(time.Now().Add(10 * time.Second))
						if n, err := br.Read(make([]byte, 1)); n != 0 || err == nil {
							t.Fatalf("connection still open: %d %v", n, err)
						}
						return
					}
				}
			})
		}
	}
}

// parkedConnSetup starts a server (over TLS or not) with an empty queue
// "idle", and returns it, the queue, its URL, a raw HTTP/1.1 connection to
// the server and an SDK client.
func parkedConnSetup(t *testing.T, overTLS bool) (*server.Server, *queue.Queue, string, net.Conn, *sqs.Client) {
	t.Helper()
	if !overTLS {
		s, q, url := parkSetup(t)
		return s, q, url, dialPark(t, s), newClient(s.URL())
	}
	t.Parallel()
	pki := newTestPKI(t)
	s := startOps(t, server.Config{InMemory: true, TLSCertFile: pki.certFile, TLSKeyFile: pki.keyFile})
	q, err := s.Engine.CreateQueue(context.Background(), "idle", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := tls.Dial("tcp", s.Addr(), &tls.Config{RootCAs: pki.pool, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return s, q, s.URL() + "/000000000000/idle", conn, pki.sqsClient(s.URL(), nil)
}

// A client that leaves while a poll sent after a parked poll's answer is
// parked loses nothing either.
func TestSecondParkedLongPollEndsWhenTheClientLeaves(t *testing.T) {
	s, q, url := parkSetup(t)
	conn := dialPark(t, s)
	br := bufio.NewReader(conn)
	c := newClient(s.URL())
	ctx := context.Background()
	parked := q.WaiterAdded()
	rawPoll(t, conn, url, "")
	<-parked
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("first")}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	parked = q.WaiterAdded()
	rawPoll(t, conn, url, "")
	<-parked
	conn.Close()
	testwait.For(t, 10*time.Second, "the parked poll to end", func() bool { return q.Waiting() == 0 })
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("kept")}); err != nil {
		t.Fatal(err)
	}
	out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{"ApproximateReceiveCount"}})
	if err != nil || len(out.Messages) != 1 || *out.Messages[0].Body != "kept" || out.Messages[0].Attributes["ApproximateReceiveCount"] != "1" {
		t.Fatalf("after the client left: %+v, %v", out, err)
	}
}
