// Package workerstatus is the worker status protocol: the document a qscale
// worker serves at GET /status and keeps in its status file, the version
// check every reader applies, the one client fleets use to read it and to
// ask a worker to drain, and the one order in which every fleet removes
// workers on scale-in.
//
// The worker writes the document (worker.Reporter); the fleets read it
// (autoscale/localfleet, k8sfleet, ecsfleet, asgfleet) and keep only their
// own way of steering the orchestrator: a drain, a pod-deletion-cost, task
// or instance scale-in protection. docs/worker.md specifies the document.
//
// The package does no I/O but through Client and the file functions, and
// imports no SDK.
package workerstatus

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Version is the major version of the document format that this package
// writes and reads. Within a version fields are only added; a reader
// refuses a document of another version (ErrVersion) instead of guessing
// what its fields mean.
const Version = 1

// MaxDocument is the largest status document a reader accepts.
const MaxDocument = 1 << 20

// State is what a worker is doing.
type State string

// The states of version 1.
const (
	Idle     State = "idle"     // holds no message; receiving
	Busy     State = "busy"     // holds at least one message
	Draining State = "draining" // stopping: receives no more, finishing what it holds
	Stopped  State = "stopped"  // done; the process is about to exit
)

// Known reports whether s is a state of this version.
func (s State) Known() bool {
	switch s {
	case Idle, Busy, Draining, Stopped:
		return true
	}
	return false
}

// Counts are a worker's cumulative message counts.
type Counts struct {
	Received  uint64 `json:"received"`
	Succeeded uint64 `json:"succeeded"`
	Failed    uint64 `json:"failed"`
	// Released counts messages whose handler had started but could not
	// finish before the worker stopped; they were made visible again.
	Released uint64 `json:"released"`
	// Returned counts prefetched messages given back unstarted at a stop.
	Returned uint64 `json:"returned"`
	// DeleteErrors counts messages whose delete failed; they will be
	// delivered again.
	DeleteErrors  uint64 `json:"delete_errors"`
	ReceiveErrors uint64 `json:"receive_errors"`
	// HandlerSeconds is the time handlers spent on the messages counted in
	// Succeeded and Failed, summed: divided by their count it is the mean
	// processing time the autoscaler learns. Added within version 1; a
	// worker that predates it reports 0.
	HandlerSeconds float64 `json:"handler_seconds"`
}

// Completed is how many messages the worker's handlers finished, with
// success or not.
func (c Counts) Completed() uint64 { return c.Succeeded + c.Failed }

// App describes an application the worker supervises (--http-start).
type App struct {
	PID      int       `json:"pid"` // 0 while down
	Ready    bool      `json:"ready"`
	Restarts int       `json:"restarts"`
	Since    time.Time `json:"since"` // when the current process started
}

// Report is the status document, format Version.
type Report struct {
	// Version of the document's format; readers refuse any other.
	Version int   `json:"version"`
	State   State `json:"state"`
	// Since is when State last changed.
	Since time.Time `json:"since"`
	// InFlight is how many messages the worker holds (received, not yet
	// deleted, released or set to retry; prefetched ones included).
	InFlight int `json:"in_flight"`
	// Running is how many handlers run now (at most Concurrency).
	Running     int    `json:"running"`
	Concurrency int    `json:"concurrency"`
	Counts      Counts `json:"counts"`
	// Now is when the report was made.
	Now time.Time `json:"now"`
	PID int       `json:"pid"`
	// QueueURL is the queue the worker receives from.
	QueueURL string `json:"queue_url,omitempty"`
	// StatusAddr is the host:port the status endpoint listens on, so that
	// a parent that asked for port 0 learns the port from the file.
	StatusAddr string `json:"status_addr,omitempty"`
	App        *App   `json:"app,omitempty"`
	// Errors are the worker's most recent handler errors (at most
	// MaxErrors), the newest last; Counts.Failed counts them all. Added
	// within version 1: a worker that predates it reports none.
	Errors []HandlerError `json:"errors,omitempty"`
}

// Errors of readers, wrapped with what was read.
var (
	// ErrVersion: the document's version is not Version (or it has none).
	ErrVersion = errors.New("unsupported worker status version")
	// ErrState: the document's state is not one of this version's.
	ErrState = errors.New("unknown worker state")
	// ErrDocument: the bytes are not a status document.
	ErrDocument = errors.New("not a worker status document")
)

// Check reports whether r is a document this package understands: its
// version is Version and its state one of that version's.
func (r Report) Check() error {
	if r.Version != Version {
		return fmt.Errorf("%w: version %d, this qscale reads version %d", ErrVersion, r.Version, Version)
	}
	if !r.State.Known() {
		return fmt.Errorf("%w %q", ErrState, string(r.State))
	}
	return nil
}

// Holding reports whether the worker must be spared by a scale-in because
// of the work it has: it holds a message, or its state is busy.
func (r Report) Holding() bool {
	return r.InFlight > 0 || r.State == Busy
}

// Decode reads one status document from rd (at most MaxDocument bytes)
// and checks it (Report.Check).
func Decode(rd io.Reader) (Report, error) {
	var r Report
	if err := json.NewDecoder(io.LimitReader(rd, MaxDocument)).Decode(&r); err != nil {
		return Report{}, fmt.Errorf("%w: %w", ErrDocument, err)
	}
	if err := r.Check(); err != nil {
		return Report{}, err
	}
	return r, nil
}

// Parse is Decode of b.
func Parse(b []byte) (Report, error) {
	return Decode(bytes.NewReader(b))
}

// Encode returns r as JSON with a final newline, as written to the
// status file and served at GET /status.
func (r Report) Encode() ([]byte, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
