package dashboard

import (
	"time"

	"github.com/qscale/qscale/worker/workerstatus"
)

// Failures is what a Backend knows of the fleet's failing handlers, for the
// failures chart, the "last errors" panel and the warning banner. qscale up
// fills it from its workers' status documents and its queue engine.
type Failures struct {
	// Succeeded and Failed count the fleet's handler calls since qscale
	// started, by outcome (cumulative: the dashboard charts their rates).
	Succeeded uint64 `json:"succeeded"`
	Failed    uint64 `json:"failed"`
	// FailureRate and SuccessRate are handler calls per second over the
	// last Window.
	FailureRate float64       `json:"failureRate"`
	SuccessRate float64       `json:"successRate"`
	Window      time.Duration `json:"window"`
	// DeadLettered counts the messages the queue moved to its dead-letter
	// queue (cumulative), DeadLetterQueue names that queue and
	// DeadLetterMessages is how many messages it holds now; both empty
	// without a redrive policy.
	DeadLettered       uint64 `json:"deadLettered"`
	DeadLetterQueue    string `json:"deadLetterQueue,omitempty"`
	DeadLetterMessages int    `json:"deadLetterMessages"`
	// LastErrors are the fleet's most recent handler errors, the newest
	// last.
	LastErrors []workerstatus.HandlerError `json:"lastErrors"`
	// Warnings are the conditions a person should act on now.
	Warnings []Warning `json:"warnings"`
}

// Warning is a condition that needs a person: the fleet is at its maximum
// while the backlog grows, or the handlers fail more than they succeed.
type Warning struct {
	// Kind is "at-max" or "failing".
	Kind string `json:"kind"`
	// Since is when the condition began.
	Since time.Time `json:"since"`
	// Text says what is wrong, with the numbers, and what to change.
	Text string `json:"text"`
}

// The warnings' kinds.
const (
	WarnAtMax   = "at-max"
	WarnFailing = "failing"
)
