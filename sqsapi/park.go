package sqsapi

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/qscale/qscale/queue"
)

// A long poll that finds its queue empty is parked: the handler takes its
// connection from net/http (Hijack), hands the wait to the engine
// (queue.ReceiveFunc, which holds no goroutine while it waits), and writes
// the answer itself from the engine's callback. The client's next requests
// are then served on that goroutine while they are plain HTTP/1.1
// (parkserve.go): a poll again parks again, without net/http. Anything
// else goes back to the server (Options.Reuse), which serves it as on a
// new connection. While a poll waits, net/http's goroutine for the
// connection, its read and write buffers and the request are gone, and so
// is any goroutine of qscale's: what remains is the socket, the engine's
// waiter and timer, and the watch for a client that goes away (on Linux an
// entry in one epoll set shared by all, hangup_linux.go; elsewhere a
// goroutine blocked in Read), a few KB in all instead of tens
// (docs/benchmarks.md, "Idle long polls").

// parkWriteTimeout bounds the write of a parked poll's answer.
const parkWriteTimeout = 30 * time.Second

// aLongTimeAgo is a deadline that makes a blocked Read return at once.
var aLongTimeAgo = time.Unix(1, 0)

// parkedSignal is the output of an action that answers on its own.
type parkedSignal struct{}

var parked any = &parkedSignal{}

// canPark reports whether this call's connection may be parked: the server
// takes connections back, the request is HTTP/1.1 (over TLS or not) that
// keeps the connection open, and the writer can hand its connection over.
func (c *call) canPark() bool {
	if c.h.opts.Reuse == nil || c.w == nil || c.r.Close || c.r.ProtoMajor != 1 || c.r.ProtoMinor != 1 {
		return false
	}
	_, ok := c.w.(http.Hijacker)
	return ok
}

// park answers ReceiveMessage in on q from a goroutine of its own once
// the engine has messages or the wait ends. It returns false, having done
// nothing, when the connection cannot be taken over; the caller then waits
// as usual.
func (c *call) park(ctx context.Context, q *queue.Queue, in *receiveMessageInput, ri queue.ReceiveInput) bool {
	conn, rw, err := http.NewResponseController(c.w).Hijack()
	if err != nil {
		return false
	}
	// The answer is written by this package; what the poll keeps is only
	// what the answer needs.
	p := &parkedPoll{
		c:    &call{h: c.h, proto: c.proto, reqID: c.reqID, action: c.action, start: c.start},
		conn: conn, q: q, in: in,
	}
	if n := rw.Reader.Buffered(); n > 0 {
		// A pipelining client sent its next request already: keep it for
		// whoever serves the connection next.
		p.early, _ = rw.Reader.Peek(n)
		p.early = append([]byte(nil), p.early...)
	}
	// The request's values without its end: the poll outlives the
	// request, and the connection's next requests are served with them.
	// (A request served after a parked poll has one already.)
	p.base = ctx
	if ctx.Done() != nil {
		p.base = context.WithoutCancel(ctx)
	}
	p.ctx, p.cancel = context.WithCancel(p.base)
	conn.SetDeadline(time.Time{}) // the body's read deadline no longer applies
	c.parked = true
	c.h.parked.Add(1)
	c.h.waiting.Add(1)
	if !watchHangup(p) {
		p.readDone = make(chan struct{})
		go p.watch()
	}
	// The wait holds no goroutine: the engine calls answer when it ends.
	q.ReceiveFunc(p.ctx, ri, p.answer)
	return true
}

// parkedPoll is one parked long poll.
type parkedPoll struct {
	c        *call
	conn     net.Conn
	q        *queue.Queue
	in       *receiveMessageInput
	base     context.Context // the request's values, never cancelled
	ctx      context.Context
	cancel   context.CancelFunc
	stopping atomic.Bool // run has stopped watch on purpose
	gone     atomic.Bool // watch (or the hangup watcher) saw the client go away
	// pipelined: the hangup watcher saw bytes of the client's next
	// request while the poll waited (left in the socket for later).
	pipelined atomic.Bool
	readDone  chan struct{} // closed when watch returns; nil when the hangup watcher watches
	watchID   int32         // the hangup watcher's id for the connection
	watchFD   int           // the connection's descriptor, while the hangup watcher watches
	// early holds bytes of the client's next request that arrived before
	// the answer; watch appends to it, run reads it after readDone.
	early []byte
}

// watch reads from the connection while the poll waits, where the hangup
// watcher cannot. A client waiting
// for its answer sends nothing: an error other than the timeout run
// provokes means it went away, and the poll ends at once; a byte is the
// start of a pipelined request, kept for later.
func (p *parkedPoll) watch() {
	defer close(p.readDone)
	var b [1]byte
	n, err := p.conn.Read(b[:])
	if n > 0 {
		// The next request of a pipelining client: the poll waits on
		// (without noticing the client leave) and the byte is served
		// after the answer.
		p.early = append(p.early, b[0])
		return
	}
	var ne net.Error
	if !p.stopping.Load() || !(errors.As(err, &ne) && ne.Timeout()) {
		p.gone.Store(true)
		p.cancel()
	}
}

// answer writes the poll's answer once the engine has it, then serves the
// connection's next requests.
func (p *parkedPoll) answer(ds []queue.Delivery, err error) {
	p.c.h.waiting.Add(-1)
	defer p.c.h.parked.Done()
	defer p.cancel()
	if p.readDone == nil {
		unwatchHangup(p)
	} else {
		p.stopping.Store(true)
		p.conn.SetReadDeadline(aLongTimeAgo)
		<-p.readDone
	}
	if p.gone.Load() {
		p.observe()
		if len(ds) > 0 {
			// No one will read this answer: the messages are visible
			// again at once, as if the receive never happened.
			p.q.Return(context.WithoutCancel(p.ctx), ds)
		}
		p.conn.Close()
		return
	}
	rec := &bufferedResponse{header: http.Header{}}
	if err != nil {
		p.c.fail(rec, err)
	} else {
		p.c.reply(rec, p.c.receiveOutput(p.in, ds))
	}
	p.observe() // before the answer, which lets the client ask again
	out := responsePool.Get().(*bytes.Buffer)
	rec.writeTo(out)
	p.conn.SetDeadline(time.Now().Add(parkWriteTimeout))
	_, werr := p.conn.Write(out.Bytes())
	out.Reset()
	responsePool.Put(out)
	if werr != nil {
		p.conn.Close()
		return
	}
	p.conn.SetDeadline(time.Time{})
	// The client's next requests are served here while they are plain
	// (parkserve.go), else by net/http.
	p.c.h.serveNext(p.base, bareConn(p.conn), p.early)
}

// awaitNext waits up to the idle timeout for the first byte of the next
// request on conn; false means the client closed it, the timeout passed or
// the server is stopping (CloseIdle).
func (h *Handler) awaitNext(conn net.Conn) (byte, bool) {
	h.idleMu.Lock()
	if h.idleClosed {
		h.idleMu.Unlock()
		return 0, false
	}
	if h.idle == nil {
		h.idle = map[net.Conn]struct{}{}
	}
	h.idle[conn] = struct{}{}
	h.idleMu.Unlock()
	defer func() {
		h.idleMu.Lock()
		delete(h.idle, conn)
		h.idleMu.Unlock()
	}()
	timeout := h.opts.IdleTimeout
	if timeout <= 0 {
		timeout = DefaultIdleTimeout
	}
	conn.SetReadDeadline(time.Now().Add(timeout))
	// Waiting here, the connection is idle as a keep-alive one in net/http
	// is: the server's connection cap may close it to let a client in.
	marker := idleMarkerOf(conn)
	if marker != nil {
		marker.SetIdle(true)
	}
	var b [1]byte
	n, _ := conn.Read(b[:])
	if marker != nil {
		marker.SetIdle(false)
	}
	conn.SetReadDeadline(time.Time{})
	return b[0], n == 1
}

// idleMarker is a connection that its listener may close while it waits
// for its client's next request (the server's connection cap).
type idleMarker interface {
	// SetIdle tells whether the connection waits for a request (true)
	// or serves one (false).
	SetIdle(idle bool)
}

// idleMarkerOf returns conn, or the connection it wraps, as an idleMarker;
// nil when there is none.
func idleMarkerOf(conn net.Conn) idleMarker {
	for {
		if m, ok := conn.(idleMarker); ok {
			return m
		}
		w, ok := conn.(interface{ NetConn() net.Conn })
		if !ok {
			return nil
		}
		conn = w.NetConn()
	}
}

// CloseIdle closes the connections whose parked poll was answered and that
// wait for their client's next request, and every one that comes to wait
// later. The server calls it on shutdown.
func (h *Handler) CloseIdle() {
	h.idleMu.Lock()
	defer h.idleMu.Unlock()
	h.idleClosed = true
	for c := range h.idle {
		c.Close()
	}
}

// observe tells the Observer the poll is answered.
func (p *parkedPoll) observe() {
	if obs := p.c.h.opts.Observer; obs != nil {
		obs.ObserveRequest(p.c.action, p.c.code, time.Since(p.c.start))
	}
}

// bareConn is conn without the prefixConns around it that have nothing
// left to give.
func bareConn(conn net.Conn) net.Conn {
	for {
		pc, ok := conn.(*prefixConn)
		if !ok || len(pc.prefix) > 0 {
			return conn
		}
		conn = pc.Conn
	}
}

// prefixConn is a connection whose first bytes were already read.
type prefixConn struct {
	net.Conn
	prefix []byte // guarded by the one reader: net/http's for the connection
}

// NetConn returns the connection underneath, as tls.Conn's does.
func (c *prefixConn) NetConn() net.Conn { return c.Conn }

func (c *prefixConn) Read(b []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(b, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(b)
}

// bufferedResponse is an http.ResponseWriter that keeps the answer, for a
// parked poll to write as an HTTP/1.1 response.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *bufferedResponse) Header() http.Header { return r.header }

func (r *bufferedResponse) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *bufferedResponse) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}

// writeTo appends the answer to b as HTTP/1.1 puts it on the wire.
func (r *bufferedResponse) writeTo(b *bytes.Buffer) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	h := r.header
	h.Set("Content-Length", strconv.Itoa(r.body.Len()))
	h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	b.Grow(256 + r.body.Len())
	b.WriteString("HTTP/1.1 ")
	b.WriteString(strconv.Itoa(r.status))
	b.WriteByte(' ')
	b.WriteString(http.StatusText(r.status))
	b.WriteString("\r\n")
	h.Write(b)
	b.WriteString("\r\n")
	b.Write(r.body.Bytes())
}

// WaitParked waits until every parked long poll has answered, or ctx ends.
// The server calls it on shutdown, after the engine has woken them.
func (h *Handler) WaitParked(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		h.parked.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
