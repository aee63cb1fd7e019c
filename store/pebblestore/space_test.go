package pebblestore_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/qscale/qscale/queue"
	"github.com/qscale/qscale/store/pebblestore"
)

// smallDisk mounts a tmpfs of size bytes for the test: a real file system
// that fills up. Without the right to mount it skips, except under CI=true,
// where it fails.
func smallDisk(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d", size)); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mount a %d-byte tmpfs (needs root or CAP_SYS_ADMIN): %v", size, err)
		}
		t.Skipf("cannot mount a tmpfs here: %v", err)
	}
	t.Cleanup(func() {
		// Detach: an abandoned Pebble instance may still hold files open.
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// fill writes a file of zeros into dir until the disk is full and returns
// its path.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return path
		}
	}
}

// testLogger logs warnings and errors to the test's log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func body(i int) string { return fmt.Sprintf("message %d %s", i, strings.Repeat("x", 2000)) }

// sendWithin sends one message and fails the test if the answer takes
// longer than a few seconds: a full disk must not wedge a send.
func sendWithin(t *testing.T, q *queue.Queue, i int) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := q.Send(context.Background(), queue.SendInput{Body: body(i)})
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Errorf("send %d hung", i)
		return errors.New("hung")
	}
}

func wantUnavailable(t *testing.T, err error, want *queue.Error) {
	t.Helper()
	var qe *queue.Error
	if !errors.As(err, &qe) || qe.Code != queue.ErrServiceUnavailable || qe != want {
		t.Errorf("send on a full disk: %v; want %s: %s", err, queue.ErrServiceUnavailable, want.Message)
	}
}

// TestWatermarkRefusesSends fills a real 16 MiB file system to the store's
// watermark: sends are refused with ServiceUnavailable before the disk is
// full, receives and deletes go on, and sends are accepted again once space
// is freed. Nothing acknowledged is lost.
func TestWatermarkRefusesSends(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	disk := smallDisk(t, 16<<20)
	filler := filepath.Join(disk, "filler")
	if err := os.WriteFile(filler, make([]byte, 6<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(disk, "store")
	st, err := pebblestore.Open(dir, pebblestore.Options{MinFreeBytes: 2 << 20})
	if err != nil {
		t.Fatal(err)
	}
	e, err := queue.Open(ctx, queue.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	q, err := e.CreateQueue(ctx, "q", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	acked := 0
	for ; ; acked++ {
		err := sendWithin(t, q, acked)
		if err != nil {
			wantUnavailable(t, err, queue.ErrStoreFull)
			break
		}
		if acked > 100000 {
			t.Fatal("the disk never filled")
		}
	}
	t.Logf("%d messages stored before the watermark", acked)
	zero := time.Duration(0)
	ds, err := q.Receive(ctx, queue.ReceiveInput{Max: 10, Wait: &zero})
	if err != nil || len(ds) != 10 {
		t.Fatalf("receive on a full disk: %d messages, %v", len(ds), err)
	}
	for _, d := range ds {
		if err := q.Delete(ctx, d.ReceiptHandle); err != nil {
			t.Fatalf("delete on a full disk: %v", err)
		}
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := sendWithin(t, q, acked); err != nil {
		t.Fatalf("send once space returned: %v", err)
	}
	acked++
	if err := e.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	n, _, err := reopen(t, dir, pebblestore.Options{})
	if err != nil || n < acked-10 || n > acked {
		t.Fatalf("after reopen: %d messages, %v; want %d acknowledged less the 10 deleted (deletes are lazy)", n, err, acked)
	}
}

// TestFullDisk lets the disk fill up under the store (no watermark): the
// send that cannot be made durable is refused with ServiceUnavailable, no
// later send hangs or panics, reads go on, the store recovers by itself
// once space returns, and Stop returns. Nothing acknowledged is lost.
func TestFullDisk(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	disk := smallDisk(t, 16<<20)
	dir := filepath.Join(disk, "store")
	st, err := pebblestore.Open(dir, pebblestore.Options{MinFreeBytes: -1, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	e, err := queue.Open(ctx, queue.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	q, err := e.CreateQueue(ctx, "q", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	acked := 0
	for ; acked < 100; acked++ {
		if err := sendWithin(t, q, acked); err != nil {
			t.Fatal(err)
		}
	}
	filler := fill(t, disk)
	// Eight senders at once, so that several commits are in Pebble's
	// pipeline when the write fails.
	var mu sync.Mutex
	refused := 0
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				err := sendWithin(t, q, 1000*(g+1)+i)
				mu.Lock()
				if err == nil {
					acked++ // written into space Pebble had already taken
				} else {
					wantUnavailable(t, err, queue.ErrStoreUnavailable)
					refused++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if refused == 0 {
		t.Fatal("no send was refused on a full disk")
	}
	t.Logf("%d acknowledged, %d refused on the full disk", acked, refused)
	zero := time.Duration(0)
	if ds, err := q.Receive(ctx, queue.ReceiveInput{Max: 1, Wait: &zero}); err != nil || len(ds) != 1 {
		t.Fatalf("receive on a full disk: %d messages, %v", len(ds), err)
	}
	if c := q.Counts(); c.Visible+c.Inflight != acked {
		t.Fatalf("counts %+v, want %d messages", c, acked)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	recovered := false
	for i := 0; i < 100 && !recovered; i++ {
		if err := sendWithin(t, q, acked); err == nil {
			acked++
			recovered = true
		}
	}
	if !recovered {
		t.Fatal("the store did not recover once space returned")
	}
	for i := 0; i < 50; i++ {
		if err := sendWithin(t, q, acked); err != nil {
			t.Fatalf("send after recovery: %v", err)
		}
		acked++
	}
	stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := e.Stop(stopCtx); err != nil {
		t.Fatalf("stop after recovery: %v", err)
	}
	// A refused send may still have reached the log before the failure
	// (the client, told to retry, then sends a duplicate, which
	// at-least-once delivery allows); an acknowledged one is never lost.
	n, _, err := reopen(t, dir, pebblestore.Options{})
	if err != nil || n < acked || n > acked+refused {
		t.Fatalf("after reopen: %d messages, %v; want the %d acknowledged (and at most %d refused)", n, err, acked, refused)
	}
}
