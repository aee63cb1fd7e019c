package sqsapi

import (
	"errors"
	"net"
	"sync"
	"syscall"
)

// On Linux one epoll instance and one goroutine watch every parked
// connection for its client going away (or sending its next request
// early), instead of a goroutine blocked in Read per connection: a parked
// poll then holds one goroutine, the one waiting for the engine.

// hangups is the process's watcher, started with the first parked poll.
var hangups = sync.OnceValue(newHangupWatcher)

// hangupWatcher is an epoll instance that reports readable or closed
// parked connections, each registered once (EPOLLONESHOT) under an id.
type hangupWatcher struct {
	epfd int

	mu    sync.Mutex // guards polls and next; held while an event is acted on
	polls map[int32]*parkedPoll
	next  int32
}

func newHangupWatcher() *hangupWatcher {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil // parked polls watch with a goroutine each
	}
	w := &hangupWatcher{epfd: fd, polls: map[int32]*parkedPoll{}}
	go w.loop()
	return w
}

// watchHangup registers p's connection; false means it cannot be (not a
// socket, no epoll), and the caller watches it another way.
func watchHangup(p *parkedPoll) bool {
	w := hangups()
	if w == nil {
		return false
	}
	// The socket under wrappers (a connection limit's, prefixConn): only
	// its descriptor is watched; reads still go through the wrappers.
	conn := p.conn
	sc, ok := conn.(syscall.Conn)
	for !ok {
		w, isWrapper := conn.(interface{ NetConn() net.Conn })
		if !isWrapper {
			return false
		}
		conn = w.NetConn()
		sc, ok = conn.(syscall.Conn)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	fd := -1
	if rc.Control(func(f uintptr) { fd = int(f) }) != nil || fd < 0 {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		w.next++
		if _, used := w.polls[w.next]; !used && w.next != 0 {
			break
		}
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT, Fd: w.next}
	if syscall.EpollCtl(w.epfd, syscall.EPOLL_CTL_ADD, fd, &ev) != nil {
		return false
	}
	w.polls[w.next] = p
	p.watchID, p.watchFD = w.next, fd
	return true
}

// unwatchHangup ends the watch of p's connection; once it returns, the
// watcher no longer touches p.
func unwatchHangup(p *parkedPoll) {
	w := hangups()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.polls[p.watchID] == p {
		delete(w.polls, p.watchID)
	}
	// The connection is open still (its poll closes it after this): the
	// descriptor is p's.
	syscall.EpollCtl(w.epfd, syscall.EPOLL_CTL_DEL, p.watchFD, nil)
}

func (w *hangupWatcher) loop() {
	events := make([]syscall.EpollEvent, 128)
	var peek [1]byte
	for {
		n, err := syscall.EpollWait(w.epfd, events, -1)
		if err != nil {
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			return
		}
		w.mu.Lock()
		for _, ev := range events[:n] {
			p := w.polls[ev.Fd]
			if p == nil {
				continue // unwatched meanwhile
			}
			// The client shut its side (RDHUP), the socket failed (HUP,
			// ERR), or the stream ended (nothing to peek): it went away, whatever bytes
			// came first. Bytes alone are the start of its next request
			// (a pipelining client, served after the answer) or, over
			// TLS, maybe a close_notify (TLS 1.3 encrypts its type) with
			// the FIN on its way: the watch goes on for the FIN only,
			// the bytes left in the socket for later.
			m, _, err := syscall.Recvfrom(p.watchFD, peek[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			rearm := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT, Fd: ev.Fd}
			switch {
			case ev.Events&(syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0:
				m = 0
			case m > 0:
				p.pipelined.Store(true)
				rearm.Events = syscall.EPOLLRDHUP | syscall.EPOLLONESHOT
				fallthrough
			case errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINTR):
				if syscall.EpollCtl(w.epfd, syscall.EPOLL_CTL_MOD, p.watchFD, &rearm) == nil {
					continue
				}
			}
			delete(w.polls, ev.Fd)
			if m <= 0 {
				p.gone.Store(true)
				p.cancel()
			}
		}
		w.mu.Unlock()
	}
}
