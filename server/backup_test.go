package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/qscale/qscale/server"
)

// TestServerBackupWhileServing sends messages from several clients, takes
// a backup through the admin listener while they send, restores it as a
// new data directory and receives every message acknowledged before the
// backup began.
func TestServerBackupWhileServing(t *testing.T) {
	t.Parallel()
	s := startOps(t, server.Config{AdminToken: "ops"})
	ctx := context.Background()
	c := newClient(s.URL())
	q, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("jobs")})
	if err != nil {
		t.Fatal(err)
	}
	const before = 200
	for i := range before {
		if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String(fmt.Sprintf("before-%d", i))}); err != nil {
			t.Fatal(err)
		}
	}
	// Senders keep going during the backup.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var during atomic.Int64
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String(fmt.Sprintf("during-%d-%d", w, i))}); err != nil {
					t.Error(err)
					return
				}
				during.Add(1)
			}
		}()
	}
	backup := filepath.Join(t.TempDir(), "backup")
	req, _ := http.NewRequest(http.MethodPost, s.AdminURL()+"/admin/backup?dir="+url.QueryEscape(backup), nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("backup without the token: %v %v", err, resp)
	}
	req.Header.Set("Authorization", "Bearer ops")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("backup: %v %v", err, resp)
	}
	resp.Body.Close()
	close(stop)
	wg.Wait()
	if during.Load() == 0 {
		t.Log("no send overlapped the backup")
	}
	// A second backup into the same directory is refused.
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("backup over an existing directory: %v %v", err, resp)
	}
	resp.Body.Close()

	restored := startOps(t, server.Config{DataDir: backup})
	rc := newClient(restored.URL())
	ru, err := rc.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("jobs")})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for {
		out, err := rc.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: ru.QueueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 600})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			break
		}
		for _, m := range out.Messages {
			seen[*m.Body] = true
		}
	}
	for i := range before {
		if !seen[fmt.Sprintf("before-%d", i)] {
			t.Fatalf("before-%d is missing from the backup (%d messages restored)", i, len(seen))
		}
	}
	for b := range seen {
		if !strings.HasPrefix(b, "before-") && !strings.HasPrefix(b, "during-") {
			t.Fatalf("restored an unknown message %q", b)
		}
	}
	t.Logf("restored %d messages: %d sent before the backup, %d sent while it ran (some after it)", len(seen), before, during.Load())
}

func TestServerBackupRefusals(t *testing.T) {
	t.Parallel()
	mem := startOps(t, server.Config{InMemory: true})
	for _, tc := range []struct {
		s      *server.Server
		dir    string
		status int
	}{
		{mem, filepath.Join(t.TempDir(), "b"), http.StatusConflict},
		{mem, "relative/dir", http.StatusBadRequest},
		{mem, "", http.StatusBadRequest},
	} {
		resp, err := http.Post(tc.s.AdminURL()+"/admin/backup?dir="+url.QueryEscape(tc.dir), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("backup to %q: %d, want %d", tc.dir, resp.StatusCode, tc.status)
		}
	}
	if status, _ := get(t, http.DefaultClient, mem.AdminURL()+"/admin/backup?dir=/tmp/x"); status != http.StatusMethodNotAllowed {
		t.Errorf("GET /admin/backup: %d, want 405", status)
	}
}
