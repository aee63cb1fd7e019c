package server

import (
	"net"
	"net/http"
	"sync"
)

// DefaultMaxConnections is the largest default cap on open client
// connections: room for tens of thousands of parked long polls (every
// worker holds one or more), bounded so that a flood of slow connections
// cannot exhaust memory. The cap actually used is lower when the process
// may open fewer files (see defaultMaxConnections).
const DefaultMaxConnections = 32768

// fdReserve is the number of file descriptors kept back from client
// connections for the store, the log and the admin listeners.
const fdReserve = 512

// defaultMaxConnections is the cap used when none is configured: the
// process's open-file limit less a reserve, at most DefaultMaxConnections,
// at least 64. Reaching the cap makes new clients wait; reaching the file
// limit would make the listener fail, so the cap must stay below it.
func defaultMaxConnections() int {
	n := DefaultMaxConnections
	if lim, ok := openFileLimit(); ok && lim-fdReserve < uint64(n) {
		n = int(lim) - fdReserve
	}
	return max(n, 64)
}

// connLimiter is a listener that keeps at most cap(slots) connections open.
// At the cap, Accept first takes the next client's connection (one
// descriptor over the cap, within fdReserve), then closes a connection
// that sits idle between requests (keep-alive) for it, or waits for a slot:
// an idle connection is closed only for a client that is actually there.
// Connections still reading a request are cut by their own deadlines (the
// header timeout, the body's minimum rate), so a slow client cannot keep a
// slot for long. While Accept waits for a slot, further clients wait in the
// kernel's backlog, holding no file descriptor of ours.
type connLimiter struct {
	net.Listener
	slots  chan struct{} // one element per open connection
	idleCh chan struct{} // poked when a connection turns idle

	mu   sync.Mutex            // guards idle and every limitedConn's closed
	idle map[*limitedConn]bool // connections between requests

	closeOnce sync.Once
	closed    chan struct{}
}

func newConnLimiter(ln net.Listener, max int) *connLimiter {
	return &connLimiter{
		Listener: ln,
		slots:    make(chan struct{}, max),
		idleCh:   make(chan struct{}, 1),
		idle:     map[*limitedConn]bool{},
		closed:   make(chan struct{}),
	}
}

// Accept accepts a connection and gives it a slot, waiting for one at the
// cap (see connLimiter).
func (l *connLimiter) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
		c, err := l.Listener.Accept()
		if err != nil {
			<-l.slots
			return nil, err
		}
		return &limitedConn{Conn: c, l: l}, nil
	default:
	}
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	for {
		select {
		case l.slots <- struct{}{}:
			return &limitedConn{Conn: c, l: l}, nil
		default:
		}
		l.closeIdle()
		select {
		case l.slots <- struct{}{}:
			return &limitedConn{Conn: c, l: l}, nil
		case <-l.idleCh:
		case <-l.closed:
			c.Close()
			return nil, net.ErrClosed
		}
	}
}

// Close stops Accept and closes the listener.
func (l *connLimiter) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// open returns the number of open connections.
func (l *connLimiter) open() int { return len(l.slots) }

// closeIdle closes one idle connection, if there is one.
func (l *connLimiter) closeIdle() {
	l.mu.Lock()
	var victim *limitedConn
	for c := range l.idle {
		victim = c
		delete(l.idle, c)
		break
	}
	l.mu.Unlock()
	if victim != nil {
		victim.Close()
	}
}

// connState is the http.Server's ConnState hook: it keeps the idle set.
// Connections the SQS handler serves itself, after a parked long poll, keep
// it through limitedConn.SetIdle.
func (l *connLimiter) connState(c net.Conn, state http.ConnState) {
	// The server may see our connection wrapped: by TLS, or by the SQS
	// handler, which hands back connections of parked long polls.
	lc, ok := c.(*limitedConn)
	for !ok {
		w, isWrapper := c.(interface{ NetConn() net.Conn })
		if !isWrapper {
			return
		}
		c = w.NetConn()
		lc, ok = c.(*limitedConn)
	}
	l.setIdle(lc, state == http.StateIdle)
}

// setIdle adds c to the idle set, or takes it out, and wakes an Accept
// waiting for a connection to close when c turns idle. A closed connection
// never joins the set.
func (l *connLimiter) setIdle(c *limitedConn, idle bool) {
	l.mu.Lock()
	if idle && !c.closed {
		l.idle[c] = true
	} else {
		idle = false
		delete(l.idle, c)
	}
	l.mu.Unlock()
	if idle {
		select {
		case l.idleCh <- struct{}{}:
		default:
		}
	}
}

// limitedConn gives its slot back when closed.
type limitedConn struct {
	net.Conn
	l      *connLimiter
	once   sync.Once
	closed bool // guarded by l.mu
}

// SetIdle marks the connection as waiting for its client's next request
// (true), which the limiter may close at the cap, or as serving one
// (false). The SQS handler calls it for a connection it serves itself after
// a parked long poll, as net/http's ConnState hook does for the others.
func (c *limitedConn) SetIdle(idle bool) { c.l.setIdle(c, idle) }

// NetConn returns the connection underneath, as tls.Conn's does (the SQS
// handler watches parked connections' sockets).
func (c *limitedConn) NetConn() net.Conn { return c.Conn }

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.mu.Lock()
		c.closed = true
		delete(c.l.idle, c)
		c.l.mu.Unlock()
		<-c.l.slots
	})
	return err
}
