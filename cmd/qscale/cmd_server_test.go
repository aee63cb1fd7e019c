package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// waitFile waits for a file that a starting server writes.
func waitFile(t *testing.T, path string, done <-chan error) string {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			return string(b)
		}
		select {
		case err := <-done:
			t.Fatalf("server ended: %v", err)
		case <-deadline:
			t.Fatalf("%s not written in 30s", path)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func TestServerCommandOperations(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	queues := filepath.Join(dir, "queues.yaml")
	if err := os.WriteFile(queues, []byte("queues:\n  - name: orders\n    attributes: {VisibilityTimeout: \"30\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, admin := filepath.Join(dir, "addr"), filepath.Join(dir, "admin")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runServer(ctx, []string{"--in-memory", "--listen", "127.0.0.1:0", "--addr-file", addr,
			"--admin-addr-file", admin, "--queues", queues})
	}()
	sqsAddr, adminAddr := waitFile(t, addr, done), waitFile(t, admin, done)
	if strings.HasSuffix(adminAddr, ":9327") {
		t.Errorf("the admin listener took the default port %s though --listen asked for any port", adminAddr)
	}
	c := sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + sqsAddr),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")})
	if _, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("orders")}); err != nil {
		t.Errorf("the declared queue: %v", err)
	}
	resp, err := http.Get("http://" + adminAddr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/readyz: %d %s", resp.StatusCode, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("server: %v", err)
	}
}

func TestServerCommandRefusesABadQueuesFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "q.yaml")
	os.WriteFile(path, []byte("queues: [{nme: x}]"), 0o644)
	err := runServer(context.Background(), []string{"--in-memory", "--listen", "127.0.0.1:0", "--queues", path})
	var u usageError
	if !errors.As(err, &u) || !strings.Contains(err.Error(), "queues[0].nme: unknown field") {
		t.Fatalf("runServer = %v, want a usage error naming queues[0].nme", err)
	}
}

func TestServerAdminListenDefault(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args   []string
		listen string
		want   string
	}{
		{nil, "127.0.0.1:9324", "127.0.0.1:9327"},
		{nil, "127.0.0.1:0", "127.0.0.1:0"},
		{[]string{"--admin-listen", "127.0.0.1:9400"}, "127.0.0.1:0", "127.0.0.1:9400"},
		{[]string{"--admin-listen", "off"}, "127.0.0.1:9324", ""},
	} {
		fs := flag.NewFlagSet("server", flag.ContinueOnError)
		v := fs.String("admin-listen", defaultAdminListen, "")
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		if got := adminListen(fs, *v, tc.listen); got != tc.want {
			t.Errorf("%v with --listen %s: %q, want %q", tc.args, tc.listen, got, tc.want)
		}
	}
}

func TestServerBackupCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	addr, admin := filepath.Join(dir, "addr"), filepath.Join(dir, "admin")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- runServer(ctx, []string{"--data-dir", filepath.Join(dir, "data"), "--listen", "127.0.0.1:0",
			"--addr-file", addr, "--admin-addr-file", admin, "--admin-token", "t0k"})
	}()
	sqsAddr, adminAddr := waitFile(t, addr, done), waitFile(t, admin, done)
	c := sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + sqsAddr),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")})
	q, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("kept")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("one")}); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(dir, "backup")
	if err := runServerBackup(ctx, []string{"--admin", "http://" + adminAddr, "--dir", backup}); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("backup without the token: %v, want 401", err)
	}
	if err := runServerBackup(ctx, []string{"--admin", "http://" + adminAddr, "--dir", backup, "--admin-token", "t0k"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(backup, "CURRENT")); err != nil {
		t.Fatalf("the backup holds no store: %v", err)
	}
	if err := runServerBackup(ctx, []string{"--admin", "http://" + adminAddr}); err == nil {
		t.Fatal("backup without --dir succeeded")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
