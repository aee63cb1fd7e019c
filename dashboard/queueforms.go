package dashboard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/qscale/qscale/queue"
)

// QueueManager is a Backend that can create queues, change their
// attributes and move a dead-letter queue's messages back (a message-move
// task): the page's "Create queue", "Edit" and "Redrive" forms.
type QueueManager interface {
	// CreateQueue creates a queue with SQS attributes, as CreateQueue does.
	CreateQueue(ctx context.Context, name string, attrs map[string]string) error
	// SetQueueAttributes changes a queue's SQS attributes.
	SetQueueAttributes(ctx context.Context, name string, attrs map[string]string) error
	// StartRedrive starts moving the messages of the dead-letter queue
	// dlq to destination, or, when destination is "", each back to the
	// queue it came from (StartMessageMoveTask).
	StartRedrive(ctx context.Context, dlq, destination string) error
	// Redrives lists the newest move tasks of dlq, newest first
	// (ListMessageMoveTasks).
	Redrives(ctx context.Context, dlq string) ([]Redrive, error)
	// Failures returns, for each queue, how many of its messages went to
	// its dead-letter queue or expired since the engine started.
	Failures() map[string]QueueFailures
}

// Redrive is a message-move task out of a dead-letter queue.
type Redrive struct {
	Status      string    `json:"status"` // RUNNING, COMPLETED, CANCELLING, CANCELLED, FAILED
	Destination string    `json:"destination,omitempty"`
	Moved       int64     `json:"moved"`
	ToMove      int64     `json:"toMove"`
	Failure     string    `json:"failure,omitempty"`
	StartedAt   time.Time `json:"startedAt"`
}

// QueueFailures are one queue's failure figures.
type QueueFailures struct {
	// DeadLettered counts the messages moved to the queue's dead-letter
	// queue after maxReceiveCount receives.
	DeadLettered uint64 `json:"deadLettered"`
	// Expired counts the messages dropped at the end of their retention.
	Expired uint64 `json:"expired"`
}

// editableAttributes are the attributes the page's forms may set; the
// queue engine checks their values.
var editableAttributes = map[string]bool{
	"DelaySeconds": true, "MaximumMessageSize": true, "MessageRetentionPeriod": true,
	"ReceiveMessageWaitTimeSeconds": true, "VisibilityTimeout": true, "RedrivePolicy": true,
	"RedriveAllowPolicy": true, "ContentBasedDeduplication": true, "DeduplicationScope": true,
	"FifoThroughputLimit": true, "FifoQueue": true,
}

// maxQueueRequest bounds a create or edit request's body.
const maxQueueRequest = 64 << 10

// QueueRequest is the body of POST /api/queues (create: Name and
// Attributes) and POST /api/queues/{name}/attributes (Attributes).
type QueueRequest struct {
	Name       string            `json:"name,omitempty"`
	Attributes map[string]string `json:"attributes"`
}

// decodeQueueRequest reads a create (create=true) or edit request: one
// JSON object, no unknown fields, a valid queue name when creating, and
// only the attributes the forms may set (FifoQueue only when creating).
func decodeQueueRequest(r io.Reader, create bool) (QueueRequest, error) {
	var req QueueRequest
	b, err := io.ReadAll(io.LimitReader(r, maxQueueRequest+1))
	if err != nil {
		return req, err
	}
	if len(b) > maxQueueRequest {
		return req, errors.New("request too large")
	}
	if err := decodeStrict(bytes.NewReader(b), &req); err != nil {
		return req, err
	}
	switch {
	case create && !queue.ValidQueueName(req.Name):
		return req, errors.New(`"name" must be 1 to 80 letters, digits, - and _, with .fifo at the end of a FIFO queue`)
	case !create && req.Name != "":
		return req, errors.New(`"name" is in the address, not the body`)
	case !create && len(req.Attributes) == 0:
		return req, errors.New(`"attributes" must name at least one attribute`)
	}
	for k := range req.Attributes {
		if !editableAttributes[k] || (k == "FifoQueue" && !create) {
			return req, fmt.Errorf("attribute %q cannot be set here", cutString(k, 60))
		}
	}
	return req, nil
}

// RedriveRequest is the body of POST /api/queues/{name}/redrive: an empty
// destination moves each message back to the queue it came from.
type RedriveRequest struct {
	Destination string `json:"destination,omitempty"`
}

func decodeRedrive(r io.Reader) (RedriveRequest, error) {
	var req RedriveRequest
	b, err := io.ReadAll(io.LimitReader(r, 1<<10+1))
	if err != nil {
		return req, err
	}
	if len(b) > 1<<10 {
		return req, errors.New("request too large")
	}
	if len(b) == 0 {
		return req, nil
	}
	if err := decodeStrict(bytes.NewReader(b), &req); err != nil {
		return req, err
	}
	if req.Destination != "" && !queue.ValidQueueName(req.Destination) {
		return req, errors.New(`"destination" is not a queue name`)
	}
	return req, nil
}

func cutString(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// manager returns the Backend's QueueManager, or answers 501.
func (d *Dashboard) manager(w http.ResponseWriter) (QueueManager, bool) {
	qm, ok := d.o.Backend.(QueueManager)
	if !ok {
		writeError(w, http.StatusNotImplemented, "queues cannot be created or changed from this dashboard")
	}
	return qm, ok
}

// managed returns the Backend's QueueManager and the queue the path
// names, or answers 501 or 400.
func (d *Dashboard) managed(w http.ResponseWriter, r *http.Request) (QueueManager, string, bool) {
	qm, ok := d.manager(w)
	if !ok {
		return nil, "", false
	}
	name := r.PathValue("name")
	if !queue.ValidQueueName(name) {
		writeError(w, http.StatusBadRequest, "invalid queue name")
		return nil, "", false
	}
	return qm, name, true
}

func (d *Dashboard) serveCreateQueue(w http.ResponseWriter, r *http.Request) {
	qm, ok := d.manager(w)
	if !ok {
		return
	}
	req, err := decodeQueueRequest(r.Body, true)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	if err := qm.CreateQueue(ctx, req.Name, req.Attributes); err != nil {
		writeBackendError(w, err)
		return
	}
	d.o.Logger.Info("queue created from the console", "queue", req.Name, "remote", r.RemoteAddr)
	writeJSON(w, http.StatusOK, map[string]string{"created": req.Name})
}

func (d *Dashboard) serveSetAttributes(w http.ResponseWriter, r *http.Request) {
	qm, name, ok := d.managed(w, r)
	if !ok {
		return
	}
	req, err := decodeQueueRequest(r.Body, false)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	if err := qm.SetQueueAttributes(ctx, name, req.Attributes); err != nil {
		writeBackendError(w, err)
		return
	}
	d.o.Logger.Info("queue attributes changed from the console", "queue", name, "remote", r.RemoteAddr)
	writeJSON(w, http.StatusOK, map[string]string{"updated": name})
}

func (d *Dashboard) serveRedrive(w http.ResponseWriter, r *http.Request) {
	qm, name, ok := d.managed(w, r)
	if !ok {
		return
	}
	req, err := decodeRedrive(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	if err := qm.StartRedrive(ctx, name, req.Destination); err != nil {
		writeBackendError(w, err)
		return
	}
	d.o.Logger.Info("redrive started from the console", "queue", name, "destination", req.Destination, "remote", r.RemoteAddr)
	rs, err := qm.Redrives(ctx, name)
	if err != nil {
		writeBackendError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rs)
}

func (d *Dashboard) serveRedrives(w http.ResponseWriter, r *http.Request) {
	qm, name, ok := d.managed(w, r)
	if !ok {
		return
	}
	rs, err := qm.Redrives(r.Context(), name)
	if err != nil {
		writeBackendError(w, err)
		return
	}
	if rs == nil {
		rs = []Redrive{}
	}
	writeJSON(w, http.StatusOK, rs)
}
