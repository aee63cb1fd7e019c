package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/qscale/qscale/internal/clock"
)

// Report is the status document served at GET /status and written to the
// status file. docs/worker.md specifies it; fleets read it to stop idle
// workers first and never kill a busy one.
type Report struct {
	Status
	// Version of the document's format: 1.
	Version int `json:"version"`
	// Now is when the report was made.
	Now        time.Time  `json:"now"`
	PID        int        `json:"pid"`
	QueueURL   string     `json:"queue_url,omitempty"`
	StatusAddr string     `json:"status_addr,omitempty"`
	App        *AppStatus `json:"app,omitempty"`
}

// Reporter serves a worker's status over HTTP and writes it to a file.
type Reporter struct {
	Worker   *Worker
	Clock    clock.Clock // clock.Real{} if nil
	QueueURL string
	// StatusAddr is the address the status endpoint listens on, reported
	// so that a parent that asked for port 0 learns the port from the file.
	StatusAddr string
	// App reports a supervised application; optional.
	App func() AppStatus
	// Metrics is served at GET /metrics; optional.
	Metrics http.Handler
	// MinFileInterval is the least time between two status file writes
	// that do not change State (default 100 ms). A change of State is
	// written at once.
	MinFileInterval time.Duration
}

func (r *Reporter) clock() clock.Clock {
	if r.Clock == nil {
		return clock.Real{}
	}
	return r.Clock
}

// Report returns the current status document.
func (r *Reporter) Report() Report {
	rep := Report{
		Status:     r.Worker.Status(),
		Version:    1,
		Now:        r.clock().Now(),
		PID:        os.Getpid(),
		QueueURL:   r.QueueURL,
		StatusAddr: r.StatusAddr,
	}
	if r.App != nil {
		a := r.App()
		rep.App = &a
	}
	return rep
}

// ServeHTTP answers:
//
//	GET  /status   the Report as JSON
//	POST /drain    stop receiving, finish held messages, exit; answers 202 and the Report
//	GET  /healthz  200 "ok" while the worker runs
//	GET  /metrics  Prometheus metrics, when Metrics is set
func (r *Reporter) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	switch req.URL.Path {
	case "/status", "/":
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			http.Error(w, "use GET", http.StatusMethodNotAllowed)
			return
		}
		r.writeJSON(w, http.StatusOK)
	case "/drain":
		if req.Method != http.MethodPost {
			http.Error(w, "use POST", http.StatusMethodNotAllowed)
			return
		}
		r.Worker.Drain()
		r.writeJSON(w, http.StatusAccepted)
	case "/healthz":
		fmt.Fprintln(w, "ok")
	case "/metrics":
		if r.Metrics == nil {
			http.NotFound(w, req)
			return
		}
		r.Metrics.ServeHTTP(w, req)
	default:
		http.NotFound(w, req)
	}
}

func (r *Reporter) writeJSON(w http.ResponseWriter, code int) {
	b, err := json.Marshal(r.Report())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

// WriteFile keeps path holding the current Report, replaced atomically
// (written to a temporary file in the same directory, then renamed), until
// the worker has stopped, when it writes the final report (state "stopped")
// and returns. It uses the worker's Changed channel: run one per worker.
func (r *Reporter) WriteFile(ctx context.Context, path string) error {
	minGap := r.MinFileInterval
	if minGap == 0 {
		minGap = 100 * time.Millisecond
	}
	clk := r.clock()
	var last State
	var lastAt time.Time
	for {
		rep := r.Report()
		if err := writeAtomic(path, rep); err != nil {
			return err
		}
		last, lastAt = rep.State, clk.Now()
		if rep.State == StateStopped {
			return nil
		}
		select {
		case <-r.Worker.Changed():
		case <-r.Worker.Done():
		case <-ctx.Done():
			return ctx.Err()
		}
		if st := r.Worker.Status().State; st == last {
			if wait := minGap - clk.Now().Sub(lastAt); wait > 0 {
				t := clk.NewTimer(wait)
				select {
				case <-t.C():
				case <-r.Worker.Done():
					t.Stop()
				case <-ctx.Done():
					t.Stop()
					return ctx.Err()
				}
			}
		}
	}
}

func writeAtomic(path string, rep Report) error {
	b, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".qscale-status-*")
	if err != nil {
		return fmt.Errorf("status file: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("status file: %w", err)
	}
	return nil
}

// defaultStatusClient reads status documents when the caller gives no
// client: one that never waits long on a worker that does not answer.
var defaultStatusClient = &http.Client{Timeout: 2 * time.Second}

// FetchStatus reads a worker's status document with GET url (the worker's
// /status, e.g. http://10.0.0.5:9090/status): what fleets on other machines
// ask before a scale-in. c may be nil for a client with a 2 s timeout.
func FetchStatus(ctx context.Context, c *http.Client, url string) (Report, error) {
	if c == nil {
		c = defaultStatusClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Report{}, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return Report{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Report{}, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	var rep Report
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&rep); err != nil {
		return Report{}, fmt.Errorf("GET %s: not a worker status document: %w", url, err)
	}
	return rep, nil
}

// Busy reports whether the worker must be spared by a scale-in: it is busy
// or draining, or it holds a message. A state this version does not know is
// an error.
func (r Report) Busy() (bool, error) {
	switch r.State {
	case StateBusy, StateDraining:
		return true, nil
	case StateIdle, StateStopped:
		return r.InFlight > 0, nil
	}
	return false, fmt.Errorf("unknown worker state %q", string(r.State))
}
