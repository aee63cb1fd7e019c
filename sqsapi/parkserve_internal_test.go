package sqsapi

import (
	"bufio"
	"bytes"
	"net/http"
	"strings"
	"testing"
)

// FuzzHeaderEnd checks the end of a request header against a plain
// search for its empty line, and that a header found is one net/http
// reads whole.
func FuzzHeaderEnd(f *testing.F) {
	f.Add([]byte("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"), 0)
	f.Add([]byte("GET / HTTP/1.1\nHost: x\n\n"), 3)
	f.Add([]byte("\r\n\r\n"), 0)
	f.Add([]byte("\n\r\n"), 1)
	f.Fuzz(func(t *testing.T, b []byte, from int) {
		if from < 0 || from > len(b) {
			return
		}
		n := headerEnd(b, from)
		want := 0
		for i := from; i < len(b); i++ {
			if bytes.HasPrefix(b[i:], []byte("\n\n")) {
				want = i + 2
				break
			}
			if bytes.HasPrefix(b[i:], []byte("\n\r\n")) {
				want = i + 3
				break
			}
		}
		if n != want {
			t.Fatalf("headerEnd(%q, %d) = %d, want %d", b, from, n, want)
		}
		if n == 0 || from != 0 {
			return
		}
		// What net/http makes of the header must not need more bytes.
		br := bufio.NewReaderSize(bytes.NewReader(b[:n]), max(n, 16))
		if _, err := br.Peek(n); err != nil {
			t.Fatal(err)
		}
		rest := br.Buffered()
		if _, err := http.ReadRequest(br); err == nil && br.Buffered() > rest {
			t.Fatalf("read past the header of %q", b[:n])
		}
	})
}

// TestPeekHeader reads a header arriving byte by byte, and refuses one
// larger than the buffer.
func TestPeekHeader(t *testing.T) {
	t.Parallel()
	req := "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
	br := bufio.NewReaderSize(&oneByteReader{strings.NewReader(req)}, 64)
	n, ok := peekHeader(br)
	if !ok || n != len(req)-2 {
		t.Fatalf("peekHeader = %d, %v; want %d", n, ok, len(req)-2)
	}
	big := "POST / HTTP/1.1\r\nX: " + strings.Repeat("p", 100) + "\r\n\r\n"
	br = bufio.NewReaderSize(strings.NewReader(big), 64)
	if _, ok := peekHeader(br); ok || br.Buffered() != br.Size() {
		t.Fatalf("a header larger than the buffer: ok=%v, %d buffered", ok, br.Buffered())
	}
}

type oneByteReader struct{ r *strings.Reader }

func (o *oneByteReader) Read(b []byte) (int, error) { return o.r.Read(b[:min(len(b), 1)]) }
