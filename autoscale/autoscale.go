// Package autoscale sizes a worker fleet from its queue's backlog. A
// Controller observes a QueueSource and a Fleet every interval, asks the
// policies (package policy: pure functions) for a capacity, applies the
// combined decision with Fleet.SetDesired and records an explained Decision.
// The simulator (package sim) drives the very same Controller on a fake clock.
//
// Data flow: QueueSource -> Observation -> policy.Set -> Fleet.
package autoscale

import (
	"context"
	"errors"
	"time"
)

// QueueStats is one reading of a queue.
type QueueStats struct {
	// Visible, InFlight and Delayed are SQS's ApproximateNumberOfMessages,
	// ApproximateNumberOfMessagesNotVisible and
	// ApproximateNumberOfMessagesDelayed.
	Visible  int `json:"visible"`
	InFlight int `json:"inFlight"`
	Delayed  int `json:"delayed"`
	// OldestAge is the age of the oldest message; 0 when the source cannot
	// tell.
	OldestAge time.Duration `json:"oldestAge,omitempty"`
	// ArrivalRate and CompletionRate are messages per second, and
	// ProcessingTime the mean time a worker spends on one message; each is 0
	// when the source cannot tell.
	ArrivalRate    float64       `json:"arrivalRate,omitempty"`
	CompletionRate float64       `json:"completionRate,omitempty"`
	ProcessingTime time.Duration `json:"processingTime,omitempty"`
}

// QueueSource reads a queue's backlog. Observe must not block longer than ctx
// allows; it is called once per controller interval from one goroutine.
type QueueSource interface {
	Observe(ctx context.Context) (QueueStats, error)
}

// FleetState is a fleet's size at one moment.
type FleetState struct {
	// Desired is the number of workers the fleet is working towards: the
	// last count SetDesired accepted, or what the orchestrator currently
	// holds if someone else changed it.
	Desired int `json:"desired"`
	// Running workers are ready and taking messages.
	Running int `json:"running"`
	// Starting workers were asked for and are not ready yet (pods pending,
	// tasks provisioning, instances booting). Workers being stopped count in
	// neither Running nor Starting.
	Starting int `json:"starting"`
	// Busy is how many workers hold at least one message, as their status
	// documents say (workerstatus.CountBusy). The controller keeps the
	// fleet at or above it (the busy floor, see Options.AllowBelowBusy).
	Busy int `json:"busy"`
	// Reporting is how many workers' status documents were read; 0 when the
	// fleet reads none (Busy then says nothing).
	Reporting int `json:"reporting"`
	// Sensors are the counters of each worker whose status was read, for
	// the controller to learn the processing time and the completion rate
	// from; nil when the fleet reads none. (A pointer keeps FleetState
	// comparable.)
	Sensors *Sensors `json:"-"`
}

// Size is s with only its sizes (Desired, Running, Starting): what the
// Fleet contract fixes, for comparisons.
func (s FleetState) Size() FleetState {
	return FleetState{Desired: s.Desired, Running: s.Running, Starting: s.Starting}
}

// ErrInvalidDesired is returned (wrapped) by Fleet.SetDesired for a negative
// count or one beyond what the fleet can ever hold.
var ErrInvalidDesired = errors.New("invalid desired worker count")

// Fleet is a set of workers whose size the autoscaler sets. Implementations:
// an in-memory fleet (package memfleet), local processes, Kubernetes
// Deployments, ECS services and EC2 Auto Scaling groups. Package fleettest is
// the conformance suite every implementation must pass.
//
// The contract:
//   - State reports the fleet as it is now; the controller calls it every
//     interval and never caches it, so changes made by others (an operator,
//     a crashed worker) are seen at the next tick.
//   - SetDesired(ctx, n) asks for n workers and returns once the orchestrator
//     has accepted the request, without waiting for workers to start or
//     stop. Afterwards State reports Desired == n. Setting the current count
//     again is a no-op. n < 0 fails with ErrInvalidDesired and changes
//     nothing. A cancelled ctx fails with an error wrapping ctx.Err().
//   - Removing workers (n below the current count) prefers, in order:
//     workers still starting, idle running workers (not processing a
//     message), and busy workers last. Removed workers get SIGTERM-style
//     notice so the worker runtime stops receiving and finishes or releases
//     what it holds. Orchestrators that pick victims themselves are steered
//     with their own mechanism: ECS task scale-in protection, EC2 instance
//     scale-in protection, the Kubernetes pod-deletion-cost annotation.
//   - Both methods are safe for concurrent use.
type Fleet interface {
	State(ctx context.Context) (FleetState, error)
	SetDesired(ctx context.Context, n int) error
}
