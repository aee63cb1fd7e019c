package server_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/qscale/qscale/internal/testwait"
	"github.com/qscale/qscale/server"
)

// Over TLS a long poll that finds its queue empty is parked off net/http
// as over plain HTTP: the SDK's poll is answered when a message arrives,
// its connection then serves the next requests (with https queue URLs), a
// client that leaves ends its poll at once, and an HTTP/2 client's poll
// waits in net/http.
func TestServerTLSParksLongPolls(t *testing.T) {
	t.Parallel()
	pki := newTestPKI(t)
	s := startOps(t, server.Config{InMemory: true, TLSCertFile: pki.certFile, TLSKeyFile: pki.keyFile})
	admin := pki.httpClient()
	parked := func() float64 {
		v, _ := value(scrape(t, admin, s.AdminURL()), "qscale_sqs_parked_long_polls")
		return v
	}
	sdk := func(hc *http.Client) *sqs.Client { return pki.sqsClient(s.URL(), hc) }
	ctx := t.Context()
	c := sdk(pki.httpClient()) // HTTP/1.1: a custom TLS config turns HTTP/2 off
	q, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("tls-idle")})
	if err != nil {
		t.Fatal(err)
	}
	eq, err := s.Engine.Queue("tls-idle")
	if err != nil {
		t.Fatal(err)
	}

	for round := range 3 {
		type result struct {
			out *sqs.ReceiveMessageOutput
			err error
		}
		got := make(chan result, 1)
		go func() {
			out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, WaitTimeSeconds: 20})
			got <- result{out, err}
		}()
		testwait.For(t, 10*time.Second, "the TLS poll to park", func() bool { return parked() == 1 })
		body := fmt.Sprintf("over TLS %d", round)
		if _, err := sdk(pki.httpClient()).SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: &body}); err != nil {
			t.Fatal(err)
		}
		r := <-got
		if r.err != nil || len(r.out.Messages) != 1 || *r.out.Messages[0].Body != body {
			t.Fatalf("round %d: %+v, %v", round, r.out, r.err)
		}
		if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: q.QueueUrl, ReceiptHandle: r.out.Messages[0].ReceiptHandle}); err != nil {
			t.Fatal(err)
		}
		// The next request on the parked connection, served off net/http.
		u, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("tls-idle")})
		if err != nil || !strings.HasPrefix(*u.QueueUrl, "https://") {
			t.Fatalf("round %d: GetQueueUrl after a parked poll: %v, %v", round, u, err)
		}
	}

	// A client that leaves: its poll ends at once.
	conn, err := tls.Dial("tcp", s.Addr(), &tls.Config{RootCAs: pki.pool, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	rawPoll(t, conn, *q.QueueUrl, "")
	testwait.For(t, 10*time.Second, "the raw TLS poll to park", func() bool { return parked() == 1 })
	conn.Close()
	testwait.For(t, 10*time.Second, "the poll of a client that left to end", func() bool { return parked() == 0 && eq.Waiting() == 0 })

	// HTTP/2: the poll waits in net/http, and is answered all the same.
	h2 := pki.httpClient()
	h2.Transport.(*http.Transport).ForceAttemptHTTP2 = true
	c2 := sdk(h2)
	got := make(chan error, 1)
	go func() {
		out, err := c2.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, WaitTimeSeconds: 20})
		if err == nil && len(out.Messages) != 1 {
			err = fmt.Errorf("%d messages", len(out.Messages))
		}
		got <- err
	}()
	testwait.For(t, 10*time.Second, "the HTTP/2 poll to wait", func() bool { return eq.Waiting() == 1 })
	if p := parked(); p != 0 {
		t.Fatalf("%v HTTP/2 polls parked", p)
	}
	if _, err := c.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("h2")}); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("HTTP/2 poll: %v", err)
	}
}
