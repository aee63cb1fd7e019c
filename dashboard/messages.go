package dashboard

import (
	"context"
	"net/http"

	"github.com/qscale/qscale/internal/peekapi"
	"github.com/qscale/qscale/queue"
)

// MessageBrowser is a Backend that can show a queue's messages without
// receiving them (package queue's Peek): the page's messages panel. A
// Backend over Amazon SQS cannot (SQS has no such call); the page says so.
type MessageBrowser interface {
	Peek(ctx context.Context, queue string, o queue.PeekOptions) (queue.PeekPage, error)
	PeekMessage(ctx context.Context, queue, id string) (queue.PeekedMessage, error)
}

var _ peekapi.Peeker = MessageBrowser(nil)

// Browser is the body of GET /api/browser: what the messages panel and
// the queue forms can do here.
type Browser struct {
	// Peek: the messages panel lists messages. When false, PeekUnavailable
	// says why.
	Peek            bool   `json:"peek"`
	PeekUnavailable string `json:"peekUnavailable,omitempty"`
	// Manage: the create, edit and redrive forms.
	Manage   bool                     `json:"manage"`
	Failures map[string]QueueFailures `json:"failures,omitempty"`
}

// browserRoutes adds the messages panel's and the queue forms' routes
// (queueforms.go).
func (d *Dashboard) browserRoutes(m *http.ServeMux) {
	p := peekapi.Unsupported
	if mb, ok := d.o.Backend.(MessageBrowser); ok {
		p = mb
	}
	peekapi.Register(m, "/api/queues/", p)
	m.HandleFunc("GET /api/browser", d.serveBrowser)
	m.HandleFunc("POST /api/queues", d.serveCreateQueue)
	m.HandleFunc("POST /api/queues/{name}/attributes", d.serveSetAttributes)
	m.HandleFunc("POST /api/queues/{name}/redrive", d.serveRedrive)
	m.HandleFunc("GET /api/queues/{name}/redrives", d.serveRedrives)
}

func (d *Dashboard) serveBrowser(w http.ResponseWriter, r *http.Request) {
	var b Browser
	if _, ok := d.o.Backend.(MessageBrowser); ok {
		b.Peek = true
	} else {
		b.PeekUnavailable = peekapi.ErrUnsupported.Error()
	}
	if qm, ok := d.o.Backend.(QueueManager); ok {
		b.Manage = true
		b.Failures = qm.Failures()
	}
	writeJSON(w, http.StatusOK, b)
}
