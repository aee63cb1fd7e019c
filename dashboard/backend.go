package dashboard

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/qscale/qscale/autoscale"
)

// Backend is what the dashboard reads and changes. `qscale up` implements it
// over the embedded queue engine, the autoscaler's Controller and the local
// fleet; package enginebackend is such an implementation. Every method must
// be safe for concurrent use.
type Backend interface {
	// Sample reads the system now. The dashboard's sampler calls it once
	// per second (never concurrently with itself) and derives throughput
	// from the cumulative counters, so Sample does no rate arithmetic.
	Sample(ctx context.Context) (Sample, error)
	// Queues lists the queues with their attributes, for the queues table.
	Queues(ctx context.Context) ([]QueueInfo, error)
	// Decisions returns up to n recent autoscaler decisions, oldest first
	// (as autoscale.Controller.Decisions does). Nil when no autoscaler runs.
	Decisions(n int) []autoscale.Decision
	// Workers lists the fleet's workers; nil when the fleet cannot tell.
	Workers() []WorkerInfo
	// Send sends a message with body to the named queue and returns its
	// message ID.
	Send(ctx context.Context, queue, body string) (messageID string, err error)
	// Purge deletes every message of the named queue.
	Purge(ctx context.Context, queue string) error
}

// Errors a Backend returns (wrapped) so the dashboard answers with the right
// HTTP status. Errors of package queue (*queue.Error) are mapped by their
// code as well, so a Backend may pass them through unchanged. Any other
// error is answered with 502 Bad Gateway.
var (
	ErrNotFound = errors.New("not found")           // 404: no such queue
	ErrInvalid  = errors.New("invalid request")     // 400: the message or name is refused
	ErrConflict = errors.New("conflicting request") // 409: e.g. a purge within 60 s of the last
)

// Sample is one reading of the system.
type Sample struct {
	// Time of the reading; the zero time means "now by the dashboard's
	// clock".
	Time time.Time `json:"time"`
	// Queue names the autoscaled queue, the one the charts show. Empty: the
	// charts show the sums over the Charted queues.
	Queue string `json:"queue"`
	// Charted names the queues the charts sum when Queue is empty: a
	// fleet's several queues. Empty: every queue.
	Charted []string `json:"charted,omitempty"`
	// Queues holds every queue's counts.
	Queues []QueueSample `json:"queues"`
	// BacklogPerWorker is the autoscaled queue's visible messages per
	// running worker (visible when none runs), and Target the value the
	// scaling policy aims at (0 when no policy has one).
	BacklogPerWorker float64 `json:"backlogPerWorker"`
	Target           float64 `json:"target"`
	// Fleet is the worker fleet's size.
	Fleet autoscale.FleetState `json:"fleet"`
	// ProcessingTime is the mean time a worker spends on one message; 0
	// when unknown.
	ProcessingTime time.Duration `json:"processingTime"`
	// Failures are the fleet's handler failures and warnings; nil when the
	// Backend cannot tell.
	Failures *Failures `json:"failures,omitempty"`
}

// charts reports whether the charts count the queue called name.
func (s *Sample) charts(name string) bool {
	switch {
	case s.Queue != "":
		return name == s.Queue
	case len(s.Charted) > 0:
		return slices.Contains(s.Charted, name)
	default:
		return true
	}
}

// QueueSample is one queue's counts in a Sample.
type QueueSample struct {
	Name string `json:"name"`
	// Visible, InFlight and Delayed are the ApproximateNumberOfMessages*
	// counts now.
	Visible  int `json:"visible"`
	InFlight int `json:"inFlight"`
	Delayed  int `json:"delayed"`
	// Sent, Received and Deleted are cumulative counters since the queue
	// engine started (queue.Stats); the dashboard turns them into rates.
	Sent     uint64 `json:"sent"`
	Received uint64 `json:"received"`
	Deleted  uint64 `json:"deleted"`
}

// QueueInfo describes a queue for the queues table.
type QueueInfo struct {
	Name string `json:"name"`
	URL  string `json:"url"`
	// Attributes are the queue's SQS attributes (GetQueueAttributes All).
	Attributes map[string]string `json:"attributes"`
}

// WorkerInfo describes one worker of the fleet.
type WorkerInfo struct {
	ID    string    `json:"id"`
	PID   int       `json:"pid,omitempty"`
	State string    `json:"state"` // e.g. "starting", "idle", "busy", "stopping"
	Since time.Time `json:"since"`
}
