package sqsconn

import (
	"bytes"
	"fmt"
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// inMemoryBodies wraps an SDK HTTP client so that every request body it
// sends is a byte slice that only net/http owns.
//
// The SDK (smithy-go) hands net/http a request body that answers io.EOF as
// an error from WriteTo once the SDK has closed it, and it closes it as soon
// as the response headers arrive. net/http, after writing Content-Length
// bytes of a body, reads the body once more to check that it is empty. When
// a fast server answers in between (the last body bytes are on the wire, the
// writing goroutine has not yet made that check), the check fails with
// io.EOF and net/http closes the connection while the response is still
// being read: the client sees "use of closed network connection", the SDK
// retries, and the messages the lost ReceiveMessage answer carried stay in
// flight until their visibility timeout. A body that net/http recognises as
// in memory is also sent with its headers in one write instead of two.
type inMemoryBodies struct{ c aws.HTTPClient }

func (c inMemoryBodies) Do(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read request body: %w", err)
		}
		req.ContentLength = int64(len(b))
		if len(b) == 0 {
			req.Body, req.GetBody = http.NoBody, nil
			return c.c.Do(req)
		}
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	return c.c.Do(req)
}
