package sqsclient

import (
	"testing"
	"time"

	"github.com/qscale/qscale/internal/testserver"
	"github.com/qscale/qscale/worker"
)

// Dial with nothing but a local queue URL reaches the server: endpoint from
// the URL, placeholder credentials, default region.
func TestDialLocalQueueURLAlone(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_ENDPOINT_URL_SQS", "")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	endpoint := testserver.Start(t)
	// Create the queue through the adapter's own SDK client.
	c, api, err := Dial(t.Context(), Options{QueueURL: endpoint + "/000000000000/probe"})
	if err != nil {
		t.Fatal(err)
	}
	if ep := c.Endpoint(); ep.URL != endpoint || ep.Region != "us-east-1" || ep.AWS {
		t.Fatalf("endpoint %s, region %q; want %s in us-east-1", ep, ep.Region, endpoint)
	}
	if _, err := c.Check(t.Context()); err == nil {
		t.Fatal("Check of a missing queue succeeded")
	}
	name := "probe"
	out, err := api.CreateQueue(t.Context(), sqsCreate(name))
	if err != nil {
		t.Fatal(err)
	}
	c = New(api, *out.QueueUrl)
	if _, err := c.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := api.SendMessage(t.Context(), sqsSend(*out.QueueUrl, "hello")); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Receive(t.Context(), worker.ReceiveRequest{Max: 10, Wait: time.Second, Visibility: 30 * time.Second})
	if err != nil || len(msgs) != 1 {
		t.Fatalf("receive: %v %v", msgs, err)
	}
	m := msgs[0]
	if m.Body != "hello" || m.ReceiveCount != 1 || m.MessageAttributes["k"].StringValue != "v" {
		t.Fatalf("message %+v", m)
	}
	if err := c.ChangeVisibilityBatch(t.Context(), []worker.VisibilityChange{{ReceiptHandle: m.ReceiptHandle, Timeout: 60 * time.Second}}); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteBatch(t.Context(), []string{m.ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	// A second delete of a bad handle is reported per entry.
	err = c.DeleteBatch(t.Context(), []string{"not-a-handle"})
	be, ok := err.(*worker.BatchError)
	if !ok || len(be.Failed) != 1 {
		t.Fatalf("bad handle: %v", err)
	}
}
