package server_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"

	"github.com/qscale/qscale/queue"
	"github.com/qscale/qscale/server"
)

// TestFullDiskAnswersServiceUnavailable runs the server on a real 16 MiB
// file system and fills it while the real AWS SDK sends: the send that
// cannot be stored gets a 503 ServiceUnavailable answer (not a dropped
// connection), receives keep working, sends are accepted again once space
// is freed, and Stop returns within its deadline.
func TestFullDiskAnswersServiceUnavailable(t *testing.T) {
	t.Parallel()
	disk := t.TempDir()
	if err := syscall.Mount("tmpfs", disk, "tmpfs", 0, "size=16m"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mount a tmpfs (needs root or CAP_SYS_ADMIN): %v", err)
		}
		t.Skipf("cannot mount a tmpfs here: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(disk, syscall.MNT_DETACH) })
	filler := filepath.Join(disk, "filler")
	if err := os.WriteFile(filler, make([]byte, 8<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s, err := server.Start(ctx, server.Config{
		Listen: "127.0.0.1:0", DataDir: filepath.Join(disk, "data"), MinFreeBytes: 2 << 20,
	})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(s.URL())
	q, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("full")})
	if err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("x", 4000)
	var refusal error
	sent := 0
	for ; sent < 10000; sent++ {
		if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: &body}); err != nil {
			refusal = err
			break
		}
	}
	var api smithy.APIError
	if !errors.As(refusal, &api) || api.ErrorCode() != "ServiceUnavailable" || !strings.Contains(api.ErrorMessage(), "disk") {
		t.Fatalf("after %d sends: %v; want ServiceUnavailable about the disk", sent, refusal)
	}
	if code := httpStatus(refusal); code != 503 {
		t.Fatalf("status %d, want 503", code)
	}
	_, err = c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("another")})
	if !errors.As(err, &api) || api.ErrorCode() != "ServiceUnavailable" || httpStatus(err) != 503 {
		t.Fatalf("CreateQueue on a full disk: %v; want 503 ServiceUnavailable", err)
	}
	out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10})
	if err != nil || len(out.Messages) == 0 {
		t.Fatalf("receive on a full disk: %v", err)
	}
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: q.QueueUrl, ReceiptHandle: out.Messages[0].ReceiptHandle}); err != nil {
		t.Fatalf("delete on a full disk: %v", err)
	}
	// The readiness probe says so while the disk is full, and recovers.
	if err := s.Ready(); !errors.Is(err, queue.ErrStoreFull) {
		t.Fatalf("Ready on a full disk = %v, want ErrStoreFull", err)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(); err != nil {
		t.Fatalf("Ready once space returned = %v", err)
	}
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: &body}); err != nil {
		t.Fatalf("send once space returned: %v", err)
	}
	stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.Stop(stopCtx); err != nil {
		t.Fatalf("stop: %v", err)
	}
}

func httpStatus(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}
