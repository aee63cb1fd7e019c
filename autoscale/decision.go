package autoscale

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/qscale/qscale/autoscale/policy"
)

// Observation is what the controller read at one tick.
type Observation struct {
	Queue QueueStats `json:"queue"`
	Fleet FleetState `json:"fleet"`
	// BacklogPerWorker is Queue.Visible / Fleet.Running, or Queue.Visible
	// when nothing runs.
	BacklogPerWorker float64 `json:"backlogPerWorker"`
	// StartupTime is the fleet's start-up time (desired raised -> worker
	// running) as the controller measured it over the last starts, 0 until
	// one was seen.
	StartupTime time.Duration `json:"startupTime,omitempty"`
}

// Decision is one tick of the controller, explained.
type Decision struct {
	Seq         uint64      `json:"seq"`
	Time        time.Time   `json:"time"`
	Observation Observation `json:"observation"`
	// From is the fleet's desired count before the decision, To after it
	// (To == From when nothing changed).
	From int `json:"from"`
	To   int `json:"to"`
	// Rule names what decided (see policy.Outcome.Rule, plus "observe-error",
	// "fleet-error", "backoff", "dry-run").
	Rule string `json:"rule"`
	// Reason says why, in one sentence with the numbers.
	Reason    string            `json:"reason"`
	Proposals []policy.Proposal `json:"proposals,omitempty"`
	// Schedule says how the open scheduled windows changed the bounds
	// ("schedule 'morning' raises min to 5 until 09:30"), empty when they
	// did not.
	Schedule string `json:"schedule,omitempty"`
	// Prediction says what the predictor expects and whether it raised
	// the capacity for it, empty without a predictor.
	Prediction string `json:"prediction,omitempty"`
	// Applied is true when SetDesired succeeded with To.
	Applied bool `json:"applied"`
	// Error is the last error of this tick (reading the queue or the fleet,
	// or SetDesired), and Attempt the number of consecutive failed
	// SetDesired calls including this one.
	Error   string `json:"error,omitempty"`
	Attempt int    `json:"attempt,omitempty"`

	// Entry, Ticks and Since are set by a DecisionLog, not by the
	// controller: Entry numbers the log's entries (it goes on across
	// restarts), Ticks is how many ticks the entry stands for (a run of
	// holds is one entry), Since is the time of the first of them.
	Entry uint64    `json:"entry,omitempty"`
	Ticks int       `json:"ticks,omitempty"`
	Since time.Time `json:"since,omitzero"`
}

// Hold reports whether the decision neither changed the fleet nor failed.
func (d Decision) Hold() bool { return d.Error == "" && d.To == d.From }

// MarshalJSON is the decision with its Text as "text".
func (d Decision) MarshalJSON() ([]byte, error) {
	type plain Decision // without this method
	return json.Marshal(struct {
		plain
		Text string `json:"text"`
	}{plain(d), d.Text()})
}

// Changed reports whether the decision changed the fleet's desired count.
func (d Decision) Changed() bool { return d.Applied && d.To != d.From }

// ring keeps the last decisions.
type ring struct {
	mu   sync.Mutex // guards buf, next, full
	buf  []Decision
	next int
	full bool
}

func newRing(n int) *ring { return &ring{buf: make([]Decision, n)} }

func (r *ring) add(d Decision) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf[r.next] = d
	r.next++
	if r.next == len(r.buf) {
		r.next, r.full = 0, true
	}
}

// last returns up to n decisions, oldest first.
func (r *ring) last(n int) []Decision {
	r.mu.Lock()
	defer r.mu.Unlock()
	size := r.next
	if r.full {
		size = len(r.buf)
	}
	n = min(n, size)
	out := make([]Decision, 0, n)
	for i := size - n; i < size; i++ {
		j := i
		if r.full {
			j = (r.next + i) % len(r.buf)
		}
		out = append(out, r.buf[j])
	}
	return out
}
