package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/qscale/qscale/internal/testserver"
	"github.com/qscale/qscale/worker"
)

func rows(t *testing.T, dbPath string) int {
	t.Helper()
	db, err := openDB(t.Context(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM deliveries`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// The sink drains a real queue into SQLite: one row per message.
func TestSinkDrainsQueueIntoSQLite(t *testing.T) {
	endpoint := testserver.Start(t)
	api := sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	ctx := t.Context()
	out, err := api.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("news")})
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	for i := 0; i < n; i += 10 {
		var entries []types.SendMessageBatchRequestEntry
		for j := i; j < i+10; j++ {
			entries = append(entries, types.SendMessageBatchRequestEntry{
				Id:          aws.String(fmt.Sprint(j)),
				MessageBody: aws.String(fmt.Sprintf(`{"user_id":"u%d","article_id":"a%d"}`, j%7, j)),
			})
		}
		if _, err := api.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: out.QueueUrl, Entries: entries}); err != nil {
			t.Fatal(err)
		}
	}
	dbPath := filepath.Join(t.TempDir(), "news.db")
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- run(runCtx, *out.QueueUrl, dbPath, 4, 10*time.Second, slog.New(slog.DiscardHandler)) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		attrs, err := api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: out.QueueUrl,
			AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
		if err != nil {
			t.Fatal(err)
		}
		if attrs.Attributes["ApproximateNumberOfMessages"] == "0" && attrs.Attributes["ApproximateNumberOfMessagesNotVisible"] == "0" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue not drained: %v", attrs.Attributes)
		}
		time.Sleep(20 * time.Millisecond) // the queue's counts are the only signal
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := rows(t, dbPath); got != n {
		t.Fatalf("%d rows for %d messages", got, n)
	}
}

// A redelivered message (its delete was lost, or the worker died after the
// write) adds no second row.
func TestStoreIsIdempotent(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "news.db")
	db, err := openDB(t.Context(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m := &worker.Message{ID: "m-1", Body: `{"user_id":"u1","article_id":"a1"}`, ReceivedAt: time.Now()}
	for range 3 {
		if err := store(t.Context(), db, m); err != nil {
			t.Fatal(err)
		}
	}
	other := &worker.Message{ID: "m-2", Body: "not json", ReceivedAt: time.Now()}
	if err := store(t.Context(), db, other); err != nil {
		t.Fatal(err)
	}
	if got := rows(t, dbPath); got != 2 {
		t.Fatalf("%d rows after storing m-1 three times and m-2 once; want 2", got)
	}
}
