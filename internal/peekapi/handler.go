package peekapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/qscale/qscale/queue"
)

// AdminPrefix is where the admin listener serves the message browser.
const AdminPrefix = "/admin/queues/"

// maxIDLen bounds a message ID in a path; SQS's are 36 characters.
const maxIDLen = 128

// peekTimeout bounds one request: a page is one pass over a queue.
const peekTimeout = 30 * time.Second

// Register adds the message browser's two routes under prefix (ending in
// "/") to mux. Callers guard mux as they guard the rest of their listener.
func Register(mux *http.ServeMux, prefix string, p Peeker) {
	mux.HandleFunc("GET "+prefix+"{queue}/messages", func(w http.ResponseWriter, r *http.Request) {
		servePage(w, r, p)
	})
	mux.HandleFunc("GET "+prefix+"{queue}/messages/{id}", func(w http.ResponseWriter, r *http.Request) {
		serveMessage(w, r, p)
	})
}

// queueOf returns the queue the path names, or answers 400.
func queueOf(w http.ResponseWriter, r *http.Request) (string, bool) {
	name := r.PathValue("queue")
	if !queue.ValidQueueName(name) {
		WriteError(w, http.StatusBadRequest, string(queue.ErrInvalidParameterValue), "invalid queue name")
		return "", false
	}
	return name, true
}

func servePage(w http.ResponseWriter, r *http.Request, p Peeker) {
	name, ok := queueOf(w, r)
	if !ok {
		return
	}
	o, err := ParseQuery(r.URL.Query())
	if err != nil {
		WriteError(w, http.StatusBadRequest, string(queue.ErrInvalidParameterValue), err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), peekTimeout)
	defer cancel()
	page, err := p.Peek(ctx, name, o)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func serveMessage(w http.ResponseWriter, r *http.Request, p Peeker) {
	name, ok := queueOf(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if id == "" || len(id) > maxIDLen {
		WriteError(w, http.StatusBadRequest, string(queue.ErrInvalidParameterValue), "invalid message ID")
		return
	}
	if len(r.URL.Query()) > 0 {
		WriteError(w, http.StatusBadRequest, string(queue.ErrInvalidParameterValue), "a message takes no parameters")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), peekTimeout)
	defer cancel()
	m, err := p.PeekMessage(ctx, name, id)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

// Status returns the HTTP status for a Peeker's error.
func Status(err error) int {
	var qe *queue.Error
	switch {
	case errors.Is(err, ErrUnsupported):
		return http.StatusNotImplemented
	case errors.As(err, &qe):
		return qe.HTTPStatus()
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	}
	return http.StatusServiceUnavailable // the store could not be read
}

func writeErr(w http.ResponseWriter, err error) {
	code := ""
	var qe *queue.Error
	if errors.As(err, &qe) {
		code = string(qe.Code)
	}
	WriteError(w, Status(err), code, err.Error())
}

// errorBody is the JSON of an error answer.
type errorBody struct {
	Error string `json:"error"`
	Code  string `json:"code,omitempty"`
}

// WriteError answers with status and the JSON error body.
func WriteError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, errorBody{Error: msg, Code: code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encoding the answer failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
