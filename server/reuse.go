package server

import (
	"errors"
	"net"
	"sync"
)

// reuseListener is the SQS listener as net/http sees it: Accept returns
// new connections from the inner listener and connections handed back by
// the SQS handler (sqsapi.Options.Reuse): one whose parked long poll was
// answered serves its client's plain next requests itself, and hands the
// connection back for net/http to serve a request it does not (chunked,
// Expect, Connection: close, HTTP/1.0, a large header).
type reuseListener struct {
	net.Listener
	accepted chan acceptResult
	back     chan net.Conn

	closeOnce sync.Once
	closed    chan struct{}
}

type acceptResult struct {
	c   net.Conn
	err error
}

func newReuseListener(ln net.Listener) *reuseListener {
	l := &reuseListener{
		Listener: ln,
		accepted: make(chan acceptResult),
		back:     make(chan net.Conn, 64),
		closed:   make(chan struct{}),
	}
	go l.pump()
	return l
}

// pump accepts from the inner listener until it fails for good.
func (l *reuseListener) pump() {
	for {
		c, err := l.Listener.Accept()
		select {
		case l.accepted <- acceptResult{c, err}:
		case <-l.closed:
			if c != nil {
				c.Close()
			}
			return
		}
		var ne net.Error
		if err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
			return // closed, or failing for good: Accept reports it once
		}
	}
}

// Accept returns the next new or handed-back connection.
func (l *reuseListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.back:
		return c, nil
	case r := <-l.accepted:
		return r.c, r.err
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

// reuse hands c back to be served again; after Close it closes c.
func (l *reuseListener) reuse(c net.Conn) {
	select {
	case l.back <- c:
	case <-l.closed:
		c.Close()
	}
}

// Close stops Accept, closes the inner listener and every connection
// handed back and not yet served.
func (l *reuseListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	err := l.Listener.Close()
	for {
		select {
		case c := <-l.back:
			c.Close()
		default:
			return err
		}
	}
}
