package sqsapi

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/qscale/qscale/internal/testwait"
)

// wrappedConn is a connection under a wrapper that names it, as a
// connection limit's does.
type wrappedConn struct{ net.Conn }

func (c wrappedConn) NetConn() net.Conn { return c.Conn }

// The hangup watcher takes a socket under wrappers, tells a client that
// sends its next request from one that leaves, and lets go of a poll it
// no longer watches.
func TestHangupWatcher(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pair := func() (client, server net.Conn) {
		t.Helper()
		client, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		server, err = ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { client.Close(); server.Close() })
		return client, server
	}
	watched := func(server net.Conn) *parkedPoll {
		t.Helper()
		p := &parkedPoll{conn: &prefixConn{Conn: wrappedConn{server}}}
		p.ctx, p.cancel = context.WithCancel(t.Context())
		if !watchHangup(p) {
			t.Fatal("not watched")
		}
		return p
	}

	client, server := pair()
	p := watched(server)
	client.Close()
	select {
	case <-p.ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("a client that left was not noticed")
	}
	if !p.gone.Load() {
		t.Fatal("cancelled, but not gone")
	}
	unwatchHangup(p)

	// Bytes of the next request: the poll goes on, its client there, and
	// the bytes stay in the socket; the watch goes on for the client
	// leaving after all (over TLS 1.3 the bytes may be a close_notify).
	client, server = pair()
	p = watched(server)
	if _, err := client.Write([]byte("P")); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, 10*time.Second, "the watcher to see the next request", p.pipelined.Load)
	if p.gone.Load() || p.ctx.Err() != nil {
		t.Fatal("a client that sent its next request taken for gone")
	}
	client.Close()
	select {
	case <-p.ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("a client that left after sending bytes was not noticed")
	}
	unwatchHangup(p)
	b := make([]byte, 1)
	if n, err := server.Read(b); n != 1 || b[0] != 'P' {
		t.Fatalf("the byte was taken: %d %v", n, err)
	}

	// Unwatched: leaving no longer cancels.
	client, server = pair()
	p = watched(server)
	unwatchHangup(p)
	client.Close()
	if n, _ := server.Read(b); n != 0 {
		t.Fatal("read after close")
	}
	if p.ctx.Err() != nil || p.gone.Load() {
		t.Fatal("an unwatched poll was cancelled")
	}
}
