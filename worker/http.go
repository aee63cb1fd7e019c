package worker

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// HTTPOptions configures HTTP.
type HTTPOptions struct {
	// Client sends the requests; a client with no overall timeout (the
	// worker's per-message timeout applies) if nil.
	Client *http.Client
	// ContentType of the POST (default "application/json", as Elastic
	// Beanstalk's worker daemon sends).
	ContentType string
	// QueueURL is sent as X-Qscale-Queue-Url.
	QueueURL string
}

// HTTPStatusError is the error of a POST answered with a status other than
// 2xx.
type HTTPStatusError struct{ Code int }

func (e *HTTPStatusError) Error() string {
	return "handler answered HTTP " + strconv.Itoa(e.Code)
}

// HTTP returns a Handler that POSTs each message's body to url; a 2xx answer
// means done. The headers carry the message (see MessageHeaders).
func HTTP(url string, opts HTTPOptions) Handler {
	client := opts.Client
	if client == nil {
		client = &http.Client{Transport: &http.Transport{
			MaxIdleConnsPerHost: 256,
			Proxy:               nil,
		}}
	}
	ct := opts.ContentType
	if ct == "" {
		ct = "application/json"
	}
	return func(ctx context.Context, m *Message) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(m.Body))
		if err != nil {
			return fmt.Errorf("handler request: %w", err)
		}
		req.Header.Set("Content-Type", ct)
		req.Header.Set("User-Agent", "qscale-worker")
		if opts.QueueURL != "" {
			req.Header.Set("X-Qscale-Queue-Url", opts.QueueURL)
		}
		MessageHeaders(req.Header, m)
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("handler request: %w", err)
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return &HTTPStatusError{Code: resp.StatusCode}
		}
		return nil
	}
}

// MessageHeaders sets the headers of a POST for m:
//
//	X-Qscale-Message-Id, X-Aws-Sqsd-Msgid                 the MessageId
//	X-Qscale-Receive-Count, X-Aws-Sqsd-Receive-Count      1 on the first delivery
//	X-Qscale-Attr-<Name>                                  each system attribute
//	X-Qscale-Msgattr-<Name>, X-Aws-Sqsd-Attr-<Name>       each message attribute (binary ones base64)
//
// The X-Aws-Sqsd-* names are those of Elastic Beanstalk's worker daemon, so
// applications written for it run unchanged.
func MessageHeaders(h http.Header, m *Message) {
	h.Set("X-Qscale-Message-Id", m.ID)
	h.Set("X-Aws-Sqsd-Msgid", m.ID)
	rc := strconv.Itoa(m.ReceiveCount)
	h.Set("X-Qscale-Receive-Count", rc)
	h.Set("X-Aws-Sqsd-Receive-Count", rc)
	if v, ok := m.Attributes["ApproximateFirstReceiveTimestamp"]; ok {
		h.Set("X-Aws-Sqsd-First-Received-At", v)
	}
	for k, v := range m.Attributes {
		h.Set("X-Qscale-Attr-"+k, v)
	}
	for k, a := range m.MessageAttributes {
		v := a.StringValue
		if a.BinaryValue != nil {
			v = base64.StdEncoding.EncodeToString(a.BinaryValue)
		}
		h.Set("X-Qscale-Msgattr-"+k, v)
		h.Set("X-Aws-Sqsd-Attr-"+k, v)
	}
}
