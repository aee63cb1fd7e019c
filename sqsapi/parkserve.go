package sqsapi

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// A connection whose parked poll was answered serves its client's next
// requests here, without going back to net/http, as long as they are
// plain: HTTP/1.1, keep-alive, a body of known length, no Expect. A worker
// that long-polls again (or deletes what it received, then polls) thus
// never costs a new net/http connection, with its goroutine and its two
// 4 KiB buffers, per round. Anything else goes back to net/http through
// Options.Reuse with the bytes already read, and net/http serves it as it
// would have (docs/benchmarks.md, "Idle long polls").

const (
	// parkHeaderTimeout bounds the read of a request's header once its
	// first byte came, as the server's ReadHeaderTimeout does.
	parkHeaderTimeout = 10 * time.Second
	// parkReadSize is the read buffer a request's header must fit in to
	// be served here; a larger one goes to net/http.
	parkReadSize = 4 << 10
	// parkDrainLimit is how much of a body the handler left unread is
	// read and dropped to keep the connection; more, and it is closed.
	parkDrainLimit = 256 << 10
)

// readerPool holds the read buffers of requests served here; a buffer is
// held only while its request is read and served.
var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, parkReadSize) }}

// responsePool holds the buffers answers are written from.
var responsePool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// serveNext serves conn's next requests, early being the bytes of the next
// one already read. It returns once a request parks the connection again,
// or the connection is closed or handed back to net/http. base carries the
// values of the request that first parked (the server's context).
func (h *Handler) serveNext(base context.Context, conn net.Conn, early []byte) {
	pc := &prefixConn{Conn: conn}
	var first [1]byte
	for {
		if len(early) == 0 {
			b, ok := h.awaitNext(conn)
			if !ok {
				conn.Close()
				return
			}
			first[0] = b
			early = first[:]
		}
		pc.prefix = early
		early = nil
		br := readerPool.Get().(*bufio.Reader)
		br.Reset(pc)
		next, more := h.serveOne(base, conn, br)
		if next != nil {
			// Bytes of a further request, read with this one: kept
			// for the next round, as the buffer goes back to its pool.
			early = append([]byte(nil), next...)
		}
		br.Reset(nil)
		readerPool.Put(br)
		if !more {
			return
		}
	}
}

// serveOne reads one request from br (over conn) and serves it. It returns
// the bytes of the next request already in br, and whether the loop goes
// on: false when the connection was parked, closed or handed back.
func (h *Handler) serveOne(base context.Context, conn net.Conn, br *bufio.Reader) (next []byte, more bool) {
	conn.SetReadDeadline(time.Now().Add(parkHeaderTimeout))
	hdrLen, ok := peekHeader(br)
	if !ok {
		if br.Buffered() == br.Size() {
			h.handBack(conn, br)
		} else {
			conn.Close() // the client left, or sent no header in time
		}
		return nil, false
	}
	all, _ := br.Peek(br.Buffered())
	req, err := http.ReadRequest(br)
	if br.Buffered() != len(all)-hdrLen {
		// ReadRequest read past the header it was given: cannot happen
		// with the header whole in the buffer; closing is the safe way.
		conn.Close()
		return nil, false
	}
	if err != nil || !plainRequest(req) {
		// net/http answers it (a malformed request gets its 400) from
		// the same bytes.
		h.opts.Reuse(&prefixConn{Conn: conn, prefix: append([]byte(nil), all...)})
		return nil, false
	}
	conn.SetReadDeadline(time.Time{})
	req.RemoteAddr = conn.RemoteAddr().String()
	if tc, ok := conn.(*tls.Conn); ok {
		st := tc.ConnectionState()
		req.TLS = &st
	}
	req = req.WithContext(base)
	w := &connResponse{conn: conn, br: br}
	w.header = http.Header{}
	if !h.serveSafely(w, req) {
		conn.Close()
		return nil, false
	}
	if w.hijacked {
		return nil, false // parked again: the poll owns the connection
	}
	keep := w.header.Get("Connection") != "close"
	if keep {
		// What the handler left of the body goes, as net/http drops it.
		n, _ := io.CopyN(io.Discard, req.Body, parkDrainLimit+1)
		keep = n <= parkDrainLimit
	}
	if !keep {
		w.header.Set("Connection", "close")
	}
	out := responsePool.Get().(*bytes.Buffer)
	defer func() {
		out.Reset()
		responsePool.Put(out)
	}()
	w.writeTo(out)
	conn.SetDeadline(time.Now().Add(parkWriteTimeout))
	if _, err := conn.Write(out.Bytes()); err != nil || !keep {
		conn.Close()
		return nil, false
	}
	conn.SetDeadline(time.Time{})
	if n := br.Buffered(); n > 0 {
		next, _ = br.Peek(n)
	}
	return next, true
}

// serveSafely runs the handler on one request, and reports false if it
// panicked (logged, as net/http logs a handler's panic).
func (h *Handler) serveSafely(w *connResponse, r *http.Request) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			h.log.Error("panic serving a request", "remote", r.RemoteAddr, "panic", fmt.Sprint(v))
			ok = false
		}
	}()
	// Through the interface: the action table refers to this path, and
	// ServeHTTP to the action table.
	http.Handler(h).ServeHTTP(w, r)
	return true
}

// handBack gives conn to net/http with the bytes br holds.
func (h *Handler) handBack(conn net.Conn, br *bufio.Reader) {
	b, _ := br.Peek(br.Buffered())
	h.opts.Reuse(&prefixConn{Conn: conn, prefix: append([]byte(nil), b...)})
}

// peekHeader reads into br until it holds a whole request header (up to
// and including the empty line) and returns its length; false when the
// read fails or the header does not fit in br.
func peekHeader(br *bufio.Reader) (int, bool) {
	from := 0
	for {
		b, _ := br.Peek(br.Buffered())
		if n := headerEnd(b, from); n > 0 {
			return n, true
		}
		if len(b) == br.Size() {
			return 0, false
		}
		from = max(len(b)-2, 0)
		if _, err := br.Peek(len(b) + 1); err != nil {
			return 0, false
		}
	}
}

// headerEnd returns the length of the header in b (through the empty line
// that ends it: "\n\n" or "\n\r\n", as net/http accepts both), or 0 when b
// does not hold all of it; the search starts at from.
func headerEnd(b []byte, from int) int {
	for i := from; i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		if i+1 < len(b) && b[i+1] == '\n' {
			return i + 2
		}
		if i+2 < len(b) && b[i+1] == '\r' && b[i+2] == '\n' {
			return i + 3
		}
	}
	return 0
}

// plainRequest reports whether r can be served here: an HTTP/1.1 request
// that keeps the connection, with a body of known length and no Expect.
func plainRequest(r *http.Request) bool {
	return r.ProtoMajor == 1 && r.ProtoMinor == 1 && !r.Close &&
		r.ContentLength >= 0 && len(r.TransferEncoding) == 0 &&
		len(r.Header["Expect"]) == 0 && len(r.Header["Upgrade"]) == 0 &&
		(r.Method == http.MethodPost || r.Method == http.MethodGet)
}

// connResponse is the ResponseWriter of a request served on a connection
// outside net/http: it keeps the answer, which serveOne writes, and lets
// the handler take the connection (park) and set its read deadline (the
// body's).
type connResponse struct {
	bufferedResponse
	conn     net.Conn
	br       *bufio.Reader
	hijacked bool
}

func (w *connResponse) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.hijacked {
		return nil, nil, http.ErrHijacked
	}
	w.hijacked = true
	// Only the reader is used by park, to keep pipelined bytes; it goes
	// back to its pool after the handler returns.
	return w.conn, bufio.NewReadWriter(w.br, nil), nil
}

func (w *connResponse) SetReadDeadline(t time.Time) error  { return w.conn.SetReadDeadline(t) }
func (w *connResponse) SetWriteDeadline(t time.Time) error { return w.conn.SetWriteDeadline(t) }

var (
	_ http.Hijacker = (*connResponse)(nil)
	_ io.Writer     = (*connResponse)(nil)
)
