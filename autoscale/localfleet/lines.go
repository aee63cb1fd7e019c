package localfleet

import (
	"bytes"
	"io"
	"sync"
)

// lineWriters prefixes each line a worker writes with its id and writes
// whole lines to one shared writer, so lines of different workers never
// interleave mid-line.
type lineWriters struct {
	mu *sync.Mutex // guards writes to w; shared by the fleet's Stdout and Stderr, which may be one writer
	w  io.Writer
}

func newLineWriters(mu *sync.Mutex, w io.Writer) *lineWriters { return &lineWriters{mu: mu, w: w} }

// forWorker returns a writer for one worker process, or nil when output is
// discarded.
func (l *lineWriters) forWorker(prefix string) *lineWriter {
	if l.w == nil {
		return nil
	}
	return &lineWriter{out: l, prefix: []byte(prefix)}
}

// lineWriter buffers a partial last line until its newline (or flush).
// exec.Cmd's copying goroutine is its only writer; flush runs after Wait.
type lineWriter struct {
	out    *lineWriters
	prefix []byte
	mu     sync.Mutex // guards buf
	buf    []byte
}

// maxLine is the longest line kept whole; longer ones are cut.
const maxLine = 64 << 10

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	var out []byte
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			if len(w.buf) >= maxLine {
				out = append(append(append(out, w.prefix...), w.buf...), '\n')
				w.buf = w.buf[:0]
			}
			break
		}
		out = append(append(out, w.prefix...), w.buf[:i+1]...)
		w.buf = w.buf[i+1:]
	}
	if len(out) > 0 {
		w.out.mu.Lock()
		_, _ = w.out.w.Write(out) // a failing log sink must not stop the worker
		w.out.mu.Unlock()
	}
	return len(p), nil
}

func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) == 0 {
		return
	}
	line := append(append(append([]byte(nil), w.prefix...), w.buf...), '\n')
	w.buf = nil
	w.out.mu.Lock()
	_, _ = w.out.w.Write(line)
	w.out.mu.Unlock()
}
