// Package leader is leader election for qscale autoscale on Kubernetes:
// several processes compete for one coordination.k8s.io Lease (client-go's
// tools/leaderelection), and only the holder runs the controller.
//
// Run campaigns for the Lease; once it is won, Run calls term with a
// context that ends as soon as the Lease is lost, waits for term to return
// (the controller has stopped), and campaigns again. When Run's own
// context ends it releases the Lease, after term returned, so the next
// process takes over at once.
//
// Losing the Lease cancels the term's context, but the term may be in the
// middle of a call at that moment, or the whole process may have been
// paused (a stopped container, a long GC, a frozen VM) past the Lease's
// expiry. So the fleet also asks Leading before every write: Leading fails
// unless this process holds the Lease and renewed it less than
// RenewDeadline ago, which is before any other process may take it over
// (LeaseDuration after the renewal it observed).
package leader

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"github.com/qscale/qscale/autoscale/k8sfleet"
	"github.com/qscale/qscale/internal/clock"
)

// ErrNotLeading is returned (wrapped) by Leading when this process may not
// act.
var ErrNotLeading = errors.New("leader: not leading")

// Config is an Elector's settings.
type Config struct {
	// Client reaches the API server. Give the elector a client of its own,
	// so that renewals are not queued behind the fleet's requests in
	// client-go's rate limiter. Required.
	// A kubernetes.Interface will do, or coordinationv1client.NewForConfig's
	// client alone.
	Client Client
	// Namespace and Lease name the Lease; it is created when missing.
	// Required.
	Namespace, Lease string
	// Identity names this process in the Lease; default the host name
	// (a pod's name) and a random suffix.
	Identity string
	// LeaseDuration, RenewDeadline and RetryPeriod are client-go's:
	// the others take the Lease LeaseDuration after the last renewal they
	// observed; the holder gives up when it could not renew for
	// RenewDeadline, and tries every RetryPeriod. Required, with
	// LeaseDuration > RenewDeadline > 1.2 RetryPeriod.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// Clock times Leading; default clock.Real{}. (client-go times the
	// renewals with the wall clock.)
	Clock clock.Clock
	// Logger receives the transitions; default discard.
	Logger *slog.Logger
}

// Client is the part of the Kubernetes API an Elector uses: the
// coordination.k8s.io/v1 group, where Leases live.
type Client interface {
	CoordinationV1() coordinationv1client.CoordinationV1Interface
}

// Elector campaigns for a Lease and runs terms while it holds it. It is
// safe for concurrent use; Leading is meant to be called by the fleet
// while Run runs.
type Elector struct {
	c    Config
	lock resourcelock.Interface

	mu        sync.Mutex // guards renewedAt, held, takes
	renewedAt time.Time  // when the last successful take or renewal was sent
	held      bool       // the Lease is ours as far as this process knows
	takes     int        // successful takes and renewals, to tell whether a campaign won
}

var _ k8sfleet.Guard = (*Elector)(nil)

// New checks cfg and returns an Elector. It makes no API call.
func New(cfg Config) (*Elector, error) {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Identity == "" {
		id, err := DefaultIdentity()
		if err != nil {
			return nil, err
		}
		cfg.Identity = id
	}
	switch {
	case cfg.Client == nil:
		return nil, errors.New("leader: Config.Client is required")
	case cfg.Namespace == "" || cfg.Lease == "":
		return nil, errors.New("leader: Config.Namespace and Config.Lease are required")
	case cfg.LeaseDuration <= cfg.RenewDeadline:
		return nil, fmt.Errorf("leader: LeaseDuration %s must be above RenewDeadline %s", cfg.LeaseDuration, cfg.RenewDeadline)
	case float64(cfg.RenewDeadline) <= leaderelection.JitterFactor*float64(cfg.RetryPeriod):
		return nil, fmt.Errorf("leader: RenewDeadline %s must be above %v times RetryPeriod %s", cfg.RenewDeadline, leaderelection.JitterFactor, cfg.RetryPeriod)
	}
	e := &Elector{c: cfg}
	e.lock = &timedLock{
		Interface: &resourcelock.LeaseLock{
			LeaseMeta:  metaOf(cfg.Namespace, cfg.Lease),
			Client:     cfg.Client.CoordinationV1(),
			LockConfig: resourcelock.ResourceLockConfig{Identity: cfg.Identity},
		},
		e: e,
	}
	return e, nil
}

// DefaultIdentity is the host name (in a pod, the pod's name) and a random
// suffix: a restarted process is a new candidate, which waits for the
// Lease of its previous life to expire rather than trusting it.
func DefaultIdentity() (string, error) {
	host, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("leader: identity: %w", err)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return host + "_" + hex.EncodeToString(b[:]), nil
}

// Identity is this process's name in the Lease.
func (e *Elector) Identity() string { return e.c.Identity }

func (e *Elector) String() string { return "Lease " + e.c.Namespace + "/" + e.c.Lease }

// Leading implements k8sfleet.Guard: nil while this process holds the
// Lease and renewed it less than RenewDeadline ago; else an error wrapping
// ErrNotLeading. A process paused past its renewal fails here on waking,
// before it could act on a fleet another process now leads.
func (e *Elector) Leading() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.held {
		return fmt.Errorf("%w: %s is not held by %s", ErrNotLeading, e, e.c.Identity)
	}
	if age := e.c.Clock.Now().Sub(e.renewedAt); age >= e.c.RenewDeadline {
		return fmt.Errorf("%w: %s was last renewed %s ago, beyond the renew deadline %s", ErrNotLeading, e, age.Round(time.Millisecond), e.c.RenewDeadline)
	}
	return nil
}

func (e *Elector) renewed(sentAt time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.held, e.renewedAt = true, sentAt
	e.takes++
}

func (e *Elector) takeCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.takes
}

func (e *Elector) drop() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.held = false
}

// Run campaigns for the Lease until ctx ends. Each time it wins, it logs
// it and calls term with a context cancelled when the Lease is lost (or
// ctx ends); once term has returned, a lost Lease sends it back to
// waiting. A term that returns an error while the Lease is still held
// ends Run with that error, after the Lease is released. Run returns nil
// when ctx ends, having released the Lease if it held it.
func (e *Elector) Run(ctx context.Context, term func(ctx context.Context) error) error {
	for {
		e.c.Logger.Info("leader election: waiting for the lease", "lease", e.String(), "identity", e.c.Identity)
		var (
			runCtx, stopRun = context.WithCancel(ctx)
			takes           = e.takeCount()
			termDone        = make(chan termEnd, 1)
		)
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock:          e.lock,
			Name:          e.c.Lease,
			LeaseDuration: e.c.LeaseDuration,
			RenewDeadline: e.c.RenewDeadline,
			RetryPeriod:   e.c.RetryPeriod,
			// The Lease is released below, once the term has stopped:
			// client-go would release it while the term still runs.
			ReleaseOnCancel: false,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(termCtx context.Context) {
					if termCtx.Err() != nil {
						termDone <- termEnd{}
						return
					}
					e.c.Logger.Info("leader election: leading", "lease", e.String(), "identity", e.c.Identity)
					termCtx, cancel := context.WithCancel(termCtx)
					defer cancel()
					go e.watchdog(termCtx, func() { cancel(); stopRun() })
					err := term(termCtx)
					termDone <- termEnd{err: err, own: termCtx.Err() == nil}
					stopRun() // a term that ended on its own stops the renewals
				},
				OnStoppedLeading: func() {},
			},
		})
		if err != nil {
			stopRun()
			return fmt.Errorf("leader: %w", err)
		}
		le.Run(runCtx) // returns once the Lease is lost or runCtx ends; the term's context is then cancelled
		e.drop()
		if e.takeCount() == takes {
			// ctx ended before this campaign won the Lease. It may still
			// name this process, from a term the watchdog stopped.
			stopRun()
			e.release(context.WithoutCancel(ctx))
			return nil
		}
		// Won: client-go has started OnStartedLeading, whose term now
		// sees its context cancelled.
		end := <-termDone
		stopRun()
		switch {
		case ctx.Err() != nil:
			e.release(context.WithoutCancel(ctx))
			return end.err
		case end.own:
			// The term ended on its own (it failed to start, say), not
			// because the Lease was lost: let another process try.
			e.release(ctx)
			return end.err
		}
		e.c.Logger.Warn("leader election: lost the lease; stopped scaling", "lease", e.String(), "identity", e.c.Identity, "err", end.err)
	}
}

// watchdog calls stop as soon as Leading fails (the renew deadline passed
// without a renewal), rather than when client-go notices, which can take
// another renew deadline after a pause. It returns when ctx ends.
func (e *Elector) watchdog(ctx context.Context, stop func()) {
	for {
		err := e.Leading()
		if err != nil {
			e.c.Logger.Warn("leader election: the lease was not renewed in time; stopping", "lease", e.String(), "identity", e.c.Identity, "err", err)
			stop()
			return
		}
		t := e.c.Clock.NewTimer(e.untilDeadline())
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
	}
}

// untilDeadline is the time left before the renew deadline of the last
// renewal.
func (e *Elector) untilDeadline() time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.renewedAt.Add(e.c.RenewDeadline).Sub(e.c.Clock.Now())
}

// termEnd is how a term ended: own is true when it returned before its
// context was cancelled.
type termEnd struct {
	err error
	own bool
}

// release hands the Lease back (no holder, a one-second duration) if this
// process still holds it, so that another takes it at its next try instead
// of waiting for it to expire. The update carries the resourceVersion last
// read or written, so it fails rather than clearing another's Lease.
func (e *Elector) release(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, e.c.RenewDeadline)
	defer cancel()
	rec, _, err := e.lock.Get(ctx)
	if err != nil || rec.HolderIdentity != e.c.Identity {
		return
	}
	now := e.c.Clock.Now()
	rec.HolderIdentity = ""
	rec.LeaseDurationSeconds = 1
	rec.RenewTime = metaTime(now)
	rec.AcquireTime = metaTime(now)
	if err := e.lock.Update(ctx, *rec); err != nil {
		e.c.Logger.Warn("leader election: could not release the lease; the others take it once it expires", "lease", e.String(), "err", err)
		return
	}
	e.c.Logger.Info("leader election: released the lease", "lease", e.String(), "identity", e.c.Identity)
}

// timedLock records when a take or renewal that succeeded was sent: the
// others count the Lease's duration from when they saw it, which is no
// earlier.
type timedLock struct {
	resourcelock.Interface
	e *Elector
}

func (l *timedLock) Create(ctx context.Context, r resourcelock.LeaderElectionRecord) error {
	sent := l.e.c.Clock.Now()
	err := l.Interface.Create(ctx, r)
	l.record(sent, r, err)
	return err
}

func (l *timedLock) Update(ctx context.Context, r resourcelock.LeaderElectionRecord) error {
	sent := l.e.c.Clock.Now()
	err := l.Interface.Update(ctx, r)
	l.record(sent, r, err)
	return err
}

func (l *timedLock) record(sent time.Time, r resourcelock.LeaderElectionRecord, err error) {
	switch {
	case err != nil:
	case r.HolderIdentity == l.e.c.Identity:
		l.e.renewed(sent)
	default:
		l.e.drop() // released
	}
}

func metaOf(ns, name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: ns, Name: name} }

func metaTime(t time.Time) metav1.Time { return metav1.NewTime(t) }
