package sqsapi

import (
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// MaxRequestBody bounds a request body. The largest legal request is a
// batch of messages totalling 1 MiB (bodies and attributes, the SQS limit);
// on the wire its worst encoding is four times that (a binary attribute,
// base64 then percent-encoded in the query protocol; text is at most three
// times, as %XX or as botocore's \uXXXX escapes), and the parameter names
// and entry ids of ten entries add well under a mebibyte. Anything longer
// is refused with RequestEntityTooLarge before it is read.
const MaxRequestBody = 5 << 20

// Defaults of the Options that bound request bodies.
const (
	// DefaultMaxBodyMemory bounds the memory that the bodies of all
	// requests being read or served hold at once.
	DefaultMaxBodyMemory = 256 << 20
	// DefaultBodyTimeout is how long a client may take to send the first
	// bodyProgress bytes of its body (or all of it), and each further
	// bodyProgress bytes: a minimum rate of 6.4 KiB/s.
	DefaultBodyTimeout = 10 * time.Second
)

const (
	// bodyProgress is the unit of progress that earns a body another
	// BodyTimeout.
	bodyProgress = 64 << 10
	// firstBody is the size of a fresh body buffer; most requests fit.
	firstBody = 4 << 10
	// afterBody is the read deadline once the body is in: longer than
	// any long poll (20 s) and the work of an action.
	afterBody = time.Minute
	// maxPooled is the largest buffer kept for reuse, so that the pool
	// never pins the memory of a rare large batch.
	maxPooled = 64 << 10
)

var (
	errBodyTooLarge = errors.New("request body too large")
	errBodyMemory   = errors.New("request body memory exhausted")
)

// bodyPool holds body buffers of at most maxPooled bytes of capacity.
var bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, firstBody); return &b }}

// bodyBudget bounds the bytes that request bodies hold at once. The zero
// value is not usable; see newBodyBudget.
type bodyBudget struct {
	limit int64
	used  atomic.Int64
}

func newBodyBudget(limit int64) *bodyBudget {
	if limit <= 0 {
		limit = DefaultMaxBodyMemory
	}
	return &bodyBudget{limit: limit}
}

// take reserves n bytes, or reports false (reserving nothing) when that
// would exceed the limit.
func (b *bodyBudget) take(n int64) bool {
	if b.used.Add(n) > b.limit {
		b.used.Add(-n)
		return false
	}
	return true
}

func (b *bodyBudget) give(n int64) { b.used.Add(-n) }

// body is a request body read into a buffer that grew only as bytes
// arrived. release returns its memory to the budget and its buffer to the
// pool; the bytes must not be used after it.
type body struct {
	buf    *[]byte
	budget *bodyBudget
	held   int64 // bytes of budget reserved: the buffer's capacity
}

func (b *body) bytes() []byte { return *b.buf }

func (b *body) release() {
	if b.buf == nil {
		return
	}
	b.budget.give(b.held)
	if cap(*b.buf) <= maxPooled {
		*b.buf = (*b.buf)[:0]
		bodyPool.Put(b.buf)
	}
	b.buf = nil
}

// readBody reads r's body, at most MaxRequestBody bytes, into b. Nothing is
// allocated from the length the client declares: the buffer doubles as
// bytes arrive, each growth is charged to the budget, and the client must
// keep sending (see DefaultBodyTimeout) or the read fails with a timeout.
// The errors are errBodyTooLarge, errBodyMemory or the read's; after one,
// the connection must be closed (see closeUnread).
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request, b *body) error {
	b.budget = h.budget
	if r.ContentLength > MaxRequestBody {
		return errBodyTooLarge
	}
	b.buf = bodyPool.Get().(*[]byte)
	b.held = int64(cap(*b.buf))
	if !h.budget.take(b.held) {
		b.held = 0
		return errBodyMemory
	}
	if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	rc := http.NewResponseController(w)
	timeout := h.opts.BodyTimeout
	if timeout <= 0 {
		timeout = DefaultBodyTimeout
	}
	// Errors are ignored: a writer that cannot set deadlines (a test's
	// recorder) reads without them.
	_ = rc.SetReadDeadline(time.Now().Add(timeout))
	buf := *b.buf
	nextProgress := bodyProgress
	for {
		if len(buf) == cap(buf) {
			if len(buf) > MaxRequestBody {
				*b.buf = buf
				return errBodyTooLarge
			}
			grown := min(2*cap(buf), MaxRequestBody+1)
			if !h.budget.take(int64(grown - cap(buf))) {
				*b.buf = buf
				return errBodyMemory
			}
			b.held += int64(grown - cap(buf))
			nb := make([]byte, len(buf), grown)
			copy(nb, buf)
			buf = nb
		}
		n, err := r.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if len(buf) >= nextProgress {
			nextProgress = len(buf) + bodyProgress
			_ = rc.SetReadDeadline(time.Now().Add(timeout))
		}
		if err == io.EOF {
			*b.buf = buf
			if len(buf) > MaxRequestBody {
				return errBodyTooLarge
			}
			// net/http reads on in the background to notice a client
			// that goes away, and ends the request when that read
			// fails: the deadline must outlast a long poll.
			_ = rc.SetReadDeadline(time.Now().Add(afterBody))
			return nil
		}
		if err != nil {
			*b.buf = buf
			return err
		}
	}
}

// closeUnread makes net/http close the connection after the answer when
// r's body was not read to its end, instead of reading the rest to reuse
// the connection: a client that stops sending would hold it until the
// server's ReadTimeout.
func closeUnread(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength != 0 {
		w.Header().Set("Connection", "close")
	}
}
