package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/qscale/qscale/internal/testwait"
)

// TestKill9DuringBackup runs the real server process, sends from several
// clients, takes an online backup through the admin listener and lets it
// finish, starts a second one and kills the server with SIGKILL as soon as
// that request is on the wire (mid-backup or just before), four times
// over on one data directory. Each restart must open the data directory;
// at the end every acknowledged send must be in it, and every completed
// backup, copied into a new data directory, must start and deliver every
// message acknowledged before that backup was asked for.
func TestKill9DuringBackup(t *testing.T) {
	bin, dir, data := killSetup(t)
	adminFile := filepath.Join(dir, "admin")
	var acked sync.Map // body -> true
	var nAcked atomic.Int64

	type backup struct {
		dir    string
		before []string // bodies acknowledged before it was asked for
	}
	var completed []backup
	killedBeforeAnswer := 0

	const rounds = 4
	for round := 0; round < rounds; round++ {
		os.Remove(adminFile)
		r := startRound(t, bin, data, dir, "backed", round, "--admin-addr-file", adminFile)
		admin := readAddr(t, adminFile)
		for w := 0; w < 4; w++ {
			r.wg.Add(1)
			go func(w int) {
				defer r.wg.Done()
				sendBatches(r.ctx, r.c, r.url, fmt.Sprintf("r%d-w%d", round, w), &acked, &nAcked, nil)
			}(w)
		}
		waitAcked := func(n int64) {
			testwait.For(t, 60*time.Second, fmt.Sprintf("round %d: %d acknowledged sends", round, n), func() bool { return nAcked.Load() >= n })
		}
		waitAcked(nAcked.Load() + 300)

		// A backup that completes while the clients send.
		b := backup{dir: filepath.Join(dir, fmt.Sprintf("backup-%d", round)), before: snapshot(&acked)}
		if status, msg := postBackup(context.Background(), admin, b.dir, nil); status != http.StatusOK {
			t.Fatalf("round %d: backup answered %d %s", round, status, msg)
		}
		completed = append(completed, b)
		waitAcked(nAcked.Load() + 200)

		// A backup cut short by SIGKILL as soon as it is asked for.
		written := make(chan struct{})
		answered := make(chan int, 1)
		go func() {
			status, _ := postBackup(context.Background(), admin, filepath.Join(dir, fmt.Sprintf("cut-%d", round)), written)
			answered <- status
		}()
		<-written
		r.kill(t)
		if status := <-answered; status != http.StatusOK {
			killedBeforeAnswer++
		}
	}

	// The data directory opens after the last kill and holds every
	// acknowledged message.
	srv, endpoint := startServer(t, bin, data, dir)
	defer func() { srv.Process.Signal(os.Interrupt); srv.Wait() }()
	seen := drain(t, endpoint, "backed")
	lost := countLost(t, &acked, "lost", func(body string) bool { return seen[body] })
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged messages lost after %d kills during backups", lost, nAcked.Load(), rounds)
	}

	// Each completed backup restores into a new data directory with every
	// message acknowledged before it was asked for.
	for i, b := range completed {
		restored := filepath.Join(dir, fmt.Sprintf("restored-%d", i))
		copyDir(t, b.dir, restored)
		rdir := filepath.Join(dir, fmt.Sprintf("restore-run-%d", i))
		if err := os.Mkdir(rdir, 0o700); err != nil {
			t.Fatal(err)
		}
		rsrv, rend := startServer(t, bin, restored, rdir)
		got := drain(t, rend, "backed")
		rsrv.Process.Signal(os.Interrupt)
		rsrv.Wait()
		for _, body := range b.before {
			if !got[body] {
				t.Fatalf("backup %d: %s, acknowledged before the backup was asked for, is not in it (%d restored)", i, body, len(got))
			}
		}
		t.Logf("backup %d restored %d messages, %d of them acknowledged before it was asked for", i, len(got), len(b.before))
	}
	t.Logf("%d acknowledged sends over %d kills, %d of them before the second backup was answered; %d delivered after the last restart",
		nAcked.Load(), rounds, killedBeforeAnswer, len(seen))
	if nAcked.Load() == 0 || len(completed) == 0 {
		t.Fatal("nothing was sent or backed up: the test proved nothing")
	}
}

// postBackup asks the admin listener at admin (host:port) for a backup
// into dir; written, when not nil, is closed once the request is sent.
func postBackup(ctx context.Context, admin, dir string, written chan struct{}) (int, string) {
	if written != nil {
		var once sync.Once
		ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { once.Do(func() { close(written) }) }})
		defer once.Do(func() { close(written) })
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+admin+"/admin/backup?dir="+url.QueryEscape(dir), nil)
	if err != nil {
		return 0, err.Error()
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// readAddr waits for a server process to write an address file.
func readAddr(t *testing.T, file string) string {
	t.Helper()
	var addr string
	testwait.For(t, 30*time.Second, file+" to be written", func() bool {
		b, err := os.ReadFile(file)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		addr = strings.TrimSpace(string(b))
		return addr != ""
	})
	return addr
}

func snapshot(m *sync.Map) []string {
	var out []string
	m.Range(func(k, _ any) bool {
		out = append(out, k.(string))
		return true
	})
	return out
}

// drain receives every message of the queue (keeping each in flight) and
// returns their bodies.
func drain(t *testing.T, endpoint, name string) map[string]bool {
	t.Helper()
	c := newClient(endpoint)
	ctx := context.Background()
	u, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: &name})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: u.QueueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 600})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			return seen
		}
		for _, m := range out.Messages {
			seen[*m.Body] = true
		}
	}
}

// copyDir copies the regular files and directories under src into dst, as
// an operator restores a backup onto a new machine.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}
