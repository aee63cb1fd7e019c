package bench_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/qscale/qscale/bench"
	"github.com/qscale/qscale/internal/testserver"
	"github.com/qscale/qscale/server"
	"github.com/qscale/qscale/sqsconn"
)

// rawSetup starts an in-memory server, returns a raw client for it and a
// fresh queue's URL.
func rawSetup(t *testing.T) (*bench.RawClient, string, context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	c, err := bench.NewRawClient(ctx, sqsconn.Options{Endpoint: testserver.Start(t)})
	if err != nil {
		t.Fatal(err)
	}
	url, err := c.CreateQueue(ctx, "raw-"+strings.ReplaceAll(t.Name(), "/", "-"), map[string]string{"VisibilityTimeout": "300"})
	if err != nil {
		t.Fatal(err)
	}
	return c, url, ctx
}

// Bodies a JSON encoder must escape or pass through untouched.
var awkwardBodies = []string{
	`plain`, `"quoted" and \backslashed\`, "tab\tnew line\ncarriage\rreturn",
	"ünïcødé, 日本語, emoji 🎉", `</script>&<>`, "\u2028\u2029", strings.Repeat("x", 5000),
}

func TestRawClientSendReceiveDelete(t *testing.T) {
	t.Parallel()
	c, url, ctx := rawSetup(t)
	if c.Signed() {
		t.Fatal("a client of a loopback endpoint without credentials signs")
	}

	if err := c.SendMessage(ctx, url, awkwardBodies[0]); err != nil {
		t.Fatal(err)
	}
	var entries []bench.SendEntry
	for i, b := range awkwardBodies[1:] {
		entries = append(entries, bench.SendEntry{ID: string(rune('a' + i)), Body: b})
	}
	failed, err := c.SendMessageBatch(ctx, url, entries)
	if err != nil || len(failed) != 0 {
		t.Fatalf("SendMessageBatch: failed %v, err %v", failed, err)
	}

	var got []bench.Message
	for len(got) < len(awkwardBodies) {
		ms, err := c.ReceiveMessage(ctx, url, 10, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) == 0 {
			t.Fatalf("received %d of %d messages, then nothing", len(got), len(awkwardBodies))
		}
		got = append(got, ms...)
	}
	var bodies []string
	for _, m := range got {
		if m.ID == "" || m.ReceiptHandle == "" {
			t.Errorf("message without id or receipt handle: %+v", m)
		}
		bodies = append(bodies, m.Body)
	}
	want := slices.Clone(awkwardBodies)
	slices.Sort(want)
	slices.Sort(bodies)
	if !slices.Equal(bodies, want) {
		t.Errorf("bodies received:\n%q\nwant\n%q", bodies, want)
	}

	if err := c.DeleteMessage(ctx, url, got[0].ReceiptHandle); err != nil {
		t.Fatal(err)
	}
	var dels []bench.DeleteEntry
	for i, m := range got[1:] {
		dels = append(dels, bench.DeleteEntry{ID: string(rune('a' + i)), ReceiptHandle: m.ReceiptHandle})
	}
	failed, err = c.DeleteMessageBatch(ctx, url, dels)
	if err != nil || len(failed) != 0 {
		t.Fatalf("DeleteMessageBatch: failed %v, err %v", failed, err)
	}
	if ms, err := c.ReceiveMessage(ctx, url, 10, 0); err != nil || len(ms) != 0 {
		t.Errorf("after deleting everything: %d messages, err %v", len(ms), err)
	}

	if err := c.DeleteQueue(ctx, url); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReceiveMessage(ctx, url, 1, 0); err == nil {
		t.Error("ReceiveMessage on the deleted queue succeeded")
	}
}

func TestRawClientErrorAnswer(t *testing.T) {
	t.Parallel()
	c, url, ctx := rawSetup(t)
	missing := url[:strings.LastIndexByte(url, '/')+1] + "no-such-queue"
	for name, call := range map[string]func() error{
		"SendMessage": func() error { return c.SendMessage(ctx, missing, "x") },
		"SendMessageBatch": func() error {
			_, err := c.SendMessageBatch(ctx, missing, []bench.SendEntry{{ID: "a", Body: "x"}})
			return err
		},
		"ReceiveMessage": func() error { _, err := c.ReceiveMessage(ctx, missing, 10, 0); return err },
		"DeleteMessage":  func() error { return c.DeleteMessage(ctx, missing, "h") },
		"DeleteMessageBatch": func() error {
			_, err := c.DeleteMessageBatch(ctx, missing, []bench.DeleteEntry{{ID: "a", ReceiptHandle: "h"}})
			return err
		},
		"DeleteQueue": func() error { return c.DeleteQueue(ctx, missing) },
	} {
		err := call()
		var ae *bench.APIError
		if !errors.As(err, &ae) {
			t.Errorf("%s on a missing queue: %v, want an *APIError", name, err)
			continue
		}
		if ae.StatusCode != http.StatusBadRequest || ae.Code != "QueueDoesNotExist" || ae.Action != name || ae.Message == "" {
			t.Errorf("%s on a missing queue: %+v, want HTTP 400 QueueDoesNotExist with a message", name, ae)
		}
	}
	if _, err := c.CreateQueue(ctx, "bad name!", nil); err == nil {
		t.Error("CreateQueue with an invalid name succeeded")
	}
}

func TestRawClientPartialBatchFailure(t *testing.T) {
	t.Parallel()
	c, url, ctx := rawSetup(t)
	// U+0001 is not a character SQS accepts in a body.
	failed, err := c.SendMessageBatch(ctx, url, []bench.SendEntry{
		{ID: "good1", Body: "fine"}, {ID: "bad", Body: "not \x01 fine"}, {ID: "good2", Body: "fine too"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(failed) != 1 || failed[0].ID != "bad" || failed[0].Code != "InvalidMessageContents" || !failed[0].SenderFault {
		t.Fatalf("SendMessageBatch failures = %+v, want entry bad with InvalidMessageContents", failed)
	}
	ms, err := c.ReceiveMessage(ctx, url, 10, 1)
	if err != nil {
		t.Fatal(err)
	}
	for len(ms) < 2 {
		more, err := c.ReceiveMessage(ctx, url, 10, 1)
		if err != nil || len(more) == 0 {
			t.Fatalf("received %d of the 2 messages sent; err %v", len(ms), err)
		}
		ms = append(ms, more...)
	}
	failed, err = c.DeleteMessageBatch(ctx, url, []bench.DeleteEntry{
		{ID: "0", ReceiptHandle: ms[0].ReceiptHandle}, {ID: "bogus", ReceiptHandle: "not-a-handle"},
		{ID: "1", ReceiptHandle: ms[1].ReceiptHandle},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(failed) != 1 || failed[0].ID != "bogus" || failed[0].Code != "ReceiptHandleIsInvalid" {
		t.Fatalf("DeleteMessageBatch failures = %+v, want entry bogus with ReceiptHandleIsInvalid", failed)
	}
}

func TestRawClientSignsWithConfiguredKeys(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := testserver.StartConfig(t, server.Config{InMemory: true, Keys: map[string]string{"AKIDBENCH": "bench-secret"}})
	client := func(creds aws.CredentialsProvider) *bench.RawClient {
		c, err := bench.NewRawClient(ctx, sqsconn.Options{Endpoint: s.URL(), Region: "us-east-1", Credentials: creds})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	good := client(credentials.NewStaticCredentialsProvider("AKIDBENCH", "bench-secret", ""))
	if !good.Signed() {
		t.Fatal("a client with credentials does not sign")
	}
	url, err := good.CreateQueue(ctx, "signed", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := good.SendMessage(ctx, url, "signed body"); err != nil {
		t.Fatal(err)
	}
	if ms, err := good.ReceiveMessage(ctx, url, 1, 1); err != nil || len(ms) != 1 || ms[0].Body != "signed body" {
		t.Fatalf("signed receive: %+v, %v", ms, err)
	}

	wrong := client(credentials.NewStaticCredentialsProvider("AKIDBENCH", "not-the-secret", ""))
	var ae *bench.APIError
	if err := wrong.SendMessage(ctx, url, "x"); !errors.As(err, &ae) || ae.StatusCode != http.StatusForbidden {
		t.Errorf("send signed with the wrong secret: %v, want an HTTP 403 *APIError", err)
	}
}

// TestRawClientChecksAnswers runs the client against an endpoint that
// lies, which no real server does on purpose.
func TestRawClientChecksAnswers(t *testing.T) {
	t.Parallel()
	answers := map[string]string{
		"AmazonSQS.ReceiveMessage":     `{"Messages":[{"MessageId":"m","ReceiptHandle":"h","MD5OfBody":"00000000000000000000000000000000","Body":"b"}]}`,
		"AmazonSQS.SendMessage":        `{"MessageId":"m","MD5OfMessageBody":"00000000000000000000000000000000"}`,
		"AmazonSQS.SendMessageBatch":   `{"Successful":[],"Failed":[]}`,
		"AmazonSQS.DeleteMessageBatch": `{"Successful":[{"Id":"a"},{"Id":"a"}],"Failed":[]}`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Type") != "application/x-amz-json-1.0" || r.Method != http.MethodPost || r.URL.Path != "/" {
			http.Error(w, "not JSON 1.0", http.StatusBadRequest)
			return
		}
		w.Write([]byte(answers[r.Header.Get("X-Amz-Target")]))
	}))
	defer srv.Close()
	ctx := context.Background()
	c, err := bench.NewRawClient(ctx, sqsconn.Options{Endpoint: srv.URL, Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReceiveMessage(ctx, "q", 10, 0); err == nil || !strings.Contains(err.Error(), "MD5OfBody") {
		t.Errorf("receive with a wrong MD5: %v", err)
	}
	if err := c.SendMessage(ctx, "q", "b"); err == nil || !strings.Contains(err.Error(), "MD5OfMessageBody") {
		t.Errorf("send with a wrong MD5: %v", err)
	}
	if _, err := c.SendMessageBatch(ctx, "q", []bench.SendEntry{{ID: "a", Body: "b"}}); err == nil || !strings.Contains(err.Error(), "neither") {
		t.Errorf("send batch with an entry unanswered: %v", err)
	}
	if _, err := c.DeleteMessageBatch(ctx, "q", []bench.DeleteEntry{{ID: "a", ReceiptHandle: "h"}}); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("delete batch with an entry answered twice: %v", err)
	}
}
