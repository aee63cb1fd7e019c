package producer

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/qscale/qscale/queue"
)

// Options configure a Handler.
type Options struct {
	// Prefix is the path the handler is mounted at; the queue name is the
	// rest of the path. Default "/queue/".
	Prefix string
	// MaxRequestBytes bounds a request body (default DefaultMaxRequestBytes).
	MaxRequestBytes int64
}

// Handler is the producer endpoint: an http.Handler that sends what it is
// given to the queue its path names.
type Handler struct {
	sender Sender
	prefix string
	max    int64
}

var _ http.Handler = (*Handler)(nil)

// NewHandler returns the endpoint over s.
func NewHandler(s Sender, opts Options) *Handler {
	if opts.Prefix == "" {
		opts.Prefix = "/queue/"
	}
	if !strings.HasSuffix(opts.Prefix, "/") {
		opts.Prefix += "/"
	}
	if opts.MaxRequestBytes <= 0 {
		opts.MaxRequestBytes = DefaultMaxRequestBytes
	}
	return &Handler{sender: s, prefix: opts.Prefix, max: opts.MaxRequestBytes}
}

// Response is the JSON the endpoint answers with. A single message is
// answered with MessageID (and SequenceNumber on FIFO queues) or Error; a
// batch with one Results entry per message, in order, and Done only when
// every message was sent. A batch of which nothing was sent also carries
// the first entry's Error and its status.
type Response struct {
	Done           bool          `json:"done"`
	MessageID      string        `json:"messageId,omitempty"`
	SequenceNumber string        `json:"sequenceNumber,omitempty"`
	Error          *Error        `json:"error,omitempty"`
	Results        []EntryResult `json:"results,omitempty"`
}

// EntryResult is one batch entry's outcome.
type EntryResult struct {
	MessageID      string `json:"messageId,omitempty"`
	SequenceNumber string `json:"sequenceNumber,omitempty"`
	Error          *Error `json:"error,omitempty"`
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		writeError(w, newError(queue.ErrMethodNotAllowed,
			"Method "+r.Method+" is not allowed: use GET /queue/NAME?message=TEXT or POST /queue/NAME."))
		return
	}
	name, perr := h.queueName(r.URL.Path)
	if perr != nil {
		writeError(w, perr)
		return
	}
	var body []byte
	if r.Method == http.MethodPost {
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.max))
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			writeError(w, newError(queue.ErrRequestEntityTooLarge,
				"The request body is larger than the endpoint accepts."))
			return
		case err != nil:
			writeError(w, newError(queue.ErrInvalidParameterValue, "Could not read the request body."))
			return
		}
		body = b
	}
	msgs, batch, derr := Decode(r.Method, r.Header.Get("Content-Type"), r.URL.Query(), body)
	if derr != nil {
		writeError(w, derr)
		return
	}
	results, err := h.sender.Send(r.Context(), name, msgs)
	if err == nil && len(results) != len(msgs) {
		err = newError(queue.ErrInternal, "The queue answered a different number of results than messages sent.")
	}
	if err != nil {
		writeError(w, asError(r.Context(), err))
		return
	}
	if !batch {
		res := results[0]
		if res.Err != nil {
			writeError(w, res.Err)
			return
		}
		writeJSON(w, http.StatusOK, Response{Done: true, MessageID: res.MessageID, SequenceNumber: res.SequenceNumber})
		return
	}
	resp := Response{Done: true, Results: make([]EntryResult, len(results))}
	sent := 0
	for i, res := range results {
		resp.Results[i] = EntryResult{MessageID: res.MessageID, SequenceNumber: res.SequenceNumber, Error: res.Err}
		if res.Err != nil {
			resp.Done = false
			if resp.Error == nil {
				resp.Error = res.Err
			}
		} else {
			sent++
		}
	}
	status := http.StatusOK
	if sent == 0 {
		status = resp.Error.Status
	} else {
		resp.Error = nil
	}
	writeJSON(w, status, resp)
}

// queueName takes the queue's name from the path.
func (h *Handler) queueName(path string) (string, *Error) {
	name, ok := strings.CutPrefix(path, h.prefix)
	if !ok {
		if path+"/" == h.prefix {
			name, ok = "", true
		} else {
			return "", newError(queue.ErrQueueDoesNotExist, "The path does not name a queue: use "+h.prefix+"NAME.")
		}
	}
	name = strings.TrimSuffix(name, "/")
	switch {
	case name == "":
		return "", newError(queue.ErrMissingParameter, "The path must name a queue: "+h.prefix+"NAME.")
	case strings.Contains(name, "/"):
		return "", newError(queue.ErrQueueDoesNotExist, "The specified queue does not exist.")
	}
	return name, nil
}

// asError turns a Sender's error into the answer.
func asError(ctx context.Context, err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if ctx.Err() != nil {
		return newError(queue.ErrServiceUnavailable, "The request was cancelled before the message was sent.")
	}
	e = newError(queue.ErrServiceUnavailable, "The queue could not be reached: "+err.Error())
	e.Status = http.StatusBadGateway // the queue behind this endpoint failed, not the endpoint
	return e
}

func writeError(w http.ResponseWriter, e *Error) {
	status := e.Status
	if status < 400 || status > 599 {
		status = http.StatusInternalServerError
	}
	writeJSON(w, status, Response{Done: false, Error: e})
}

func writeJSON(w http.ResponseWriter, status int, v Response) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"done":false,"error":{"code":"InternalError","message":"Could not encode the answer."}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
