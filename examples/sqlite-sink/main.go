// Command sqlite-sink is the classic news-delivery worker done with qscale: it takes news
// delivery messages from a queue and writes each to a database (here SQLite,
// embedded, instead of DynamoDB). The write is keyed by the message id, so a
// redelivered message (a delete that was lost, a worker killed after the
// write) changes nothing: at-least-once delivery becomes exactly-once rows.
//
//	go run . --queue-url http://127.0.0.1:9324/000000000000/news --db news.db --concurrency 8
//
// It is its own Go module so qscale's main module does not carry a SQL
// driver.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	_ "modernc.org/sqlite"

	"github.com/qscale/qscale/worker"
	"github.com/qscale/qscale/worker/sqsclient"
)

// delivery is the message body: a news article to show to one user. Bodies
// that are not JSON are stored as they are.
type delivery struct {
	UserID    string `json:"user_id"`
	ArticleID string `json:"article_id"`
}

func main() {
	queueURL := flag.String("queue-url", os.Getenv("QSCALE_QUEUE_URL"), "queue URL")
	dbPath := flag.String("db", "news.db", "SQLite database file")
	concurrency := flag.Int("concurrency", 8, "messages processed at once")
	grace := flag.Duration("grace", 30*time.Second, "time to finish held messages on SIGTERM")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, *queueURL, *dbPath, *concurrency, *grace, log); err != nil {
		log.Error("sqlite-sink", "err", err)
		os.Exit(1)
	}
}

// run consumes the queue until ctx ends, then stops gracefully.
func run(ctx context.Context, queueURL, dbPath string, concurrency int, grace time.Duration, log *slog.Logger) error {
	db, err := openDB(ctx, dbPath)
	if err != nil {
		return err
	}
	defer db.Close()

	q, _, err := sqsclient.Dial(ctx, sqsclient.Options{QueueURL: queueURL})
	if err != nil {
		return err
	}
	w, err := worker.New(worker.Config{
		Queue:       q,
		Concurrency: concurrency,
		Logger:      log,
		DeleteDelay: 5 * time.Millisecond,
		Handler: func(ctx context.Context, m *worker.Message) error {
			return store(ctx, db, m)
		},
	})
	if err != nil {
		return err
	}
	if err := w.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	log.Info("sqlite-sink running", "queue", queueURL, "db", dbPath)
	<-ctx.Done()
	gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	if err := w.Stop(gctx); err != nil && !errors.Is(err, worker.ErrReleased) {
		return err
	}
	log.Info("sqlite-sink stopped", "counts", fmt.Sprintf("%+v", w.Status().Counts))
	return nil
}

// openDB opens the database and creates the table.
func openDB(ctx context.Context, dbPath string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1) // SQLite has one writer; the pool queues them
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS deliveries (
		message_id  TEXT PRIMARY KEY,
		user_id     TEXT,
		article_id  TEXT,
		body        TEXT NOT NULL,
		received_at TEXT NOT NULL
	)`); err != nil {
		db.Close()
		return nil, fmt.Errorf("create table: %w", err)
	}
	return db, nil
}

// store writes one delivery. It is idempotent: a second delivery of the
// same message is a no-op.
func store(ctx context.Context, db *sql.DB, m *worker.Message) error {
	var d delivery
	_ = json.Unmarshal([]byte(m.Body), &d) // not JSON: keep the body only
	_, err := db.ExecContext(ctx,
		`INSERT INTO deliveries (message_id, user_id, article_id, body, received_at)
		 VALUES (?, ?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING`,
		m.ID, d.UserID, d.ArticleID, m.Body, m.ReceivedAt.UTC().Format(time.RFC3339Nano))
	return err
}
