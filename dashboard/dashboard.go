// Package dashboard is the web page of `qscale up` and of `qscale autoscale`'s
// console: live charts of the autoscaled queue's messages, its backlog per
// worker against the target, the fleet's size and the throughput, the
// autoscaler's decision log, the queues with their attributes, forms to send
// a test message and purge a queue, and a pause button. The page shows the
// parts its Backend has (FeatureReporter, Pauser).
//
// A Dashboard is an http.Handler; the caller listens (on 127.0.0.1) and
// serves it. Its own sampler reads the Backend once per second and keeps the
// history in memory, bounded: one point a second for the last hour and one a
// minute (mean, min, max) up to Options.History. The page gets live updates
// by server-sent events; its scripts, styles and the chart library (uPlot)
// are embedded in the binary, so it works offline.
//
// HTTP interface (all under the handler's root):
//
//	GET  /                         the page
//	GET  /assets/...               its scripts and styles
//	GET  /api/events               server-sent events: "history" on connect,
//	                               then "sample" every second and "decision"
//	                               for every new autoscaler decision
//	GET  /api/history              the history (JSON)
//	GET  /api/queues               the queues and their attributes (JSON)
//	GET  /api/decisions?n=100      recent decisions, newest first (JSON)
//	POST /api/queues/{name}/send   {"body":"..."} -> {"messageId":"..."}
//	POST /api/queues/{name}/purge  -> {"purged":"name"}
//	GET  /api/control              the features the backend has, and
//	                               whether the autoscaler is paused
//	POST /api/pause, /api/resume   pause or resume the autoscaler (a
//	                               Backend that implements Pauser)
//
// When Options.Token is set every request needs it; mutating requests also
// need a same-origin check to pass (see ServeHTTP).
package dashboard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/internal/service"
	"github.com/qscale/qscale/internal/webguard"
)

// Options configure a Dashboard.
type Options struct {
	// Backend is what the dashboard shows and changes; required.
	Backend Backend
	// Clock paces the sampler; default clock.Real{}.
	Clock clock.Clock
	// Token, when set, is required by every request: as the header
	// "Authorization: Bearer <Token>", or once as "?token=<Token>" in the
	// address, which sets an HttpOnly, SameSite=Strict cookie that the page
	// then uses.
	Token string
	// History is how far back the charts go; default 24h, at least 1 min.
	// The last hour is kept at one point a second, the rest at one a
	// minute.
	History time.Duration
	// AllowedHosts are host names (without port) the dashboard answers to
	// when Token is empty, besides IP addresses and "localhost": without a
	// token, a request addressed to any other name gets 403, so a web page
	// cannot reach the dashboard by pointing its own name at 127.0.0.1 (DNS
	// rebinding). With a token every name is answered; the cookie stays with
	// the name it was set for.
	AllowedHosts []string
	// Logger receives sampler errors (Warn, once per run of failures);
	// default: discard.
	Logger *slog.Logger
	// StateFile, when set, keeps the history and the decision log across
	// restarts: read by New, written every minute and by Stop. Empty:
	// both live in memory only.
	StateFile string
}

// Tunables that tests may shrink.
const (
	// decisionsOnConnect is how many recent decisions a new event stream
	// and /api/decisions get by default.
	decisionsOnConnect = 200
	// subscriberBuffer is how many events a slow event stream may fall
	// behind before it is closed (the browser reconnects).
	subscriberBuffer = 64
	// keepAlive is how often an idle event stream gets a comment line.
	keepAlive = 15 * time.Second
	// saveEvery is how often the running sampler writes Options.StateFile.
	saveEvery = time.Minute
)

// Dashboard serves the page and its API. Create it with New, run its sampler
// with Start, and stop it with Stop.
//
// Lock order: lifeMu, then hub.mu; history.mu is never held with another.
type Dashboard struct {
	o      Options
	tok    *webguard.Token // nil without Options.Token
	mux    *http.ServeMux
	hist   *history
	log    *autoscale.DecisionLog
	hub    *hub
	smp    *sampler   // used by the sampler goroutine (or SampleNow in tests) only
	lastMu sync.Mutex // guards last
	last   []byte     // the last "sample" event's JSON, for new streams
	// decMu serialises syncDecisions and guards lastSeq, the newest
	// controller decision taken into log.
	decMu   sync.Mutex
	lastSeq uint64

	lifeMu  sync.Mutex // guards started, cancel, done
	started bool
	cancel  context.CancelFunc
	done    chan struct{}
}

var _ http.Handler = (*Dashboard)(nil)

// ErrStarted is returned by Start on a Dashboard that was started before.
var ErrStarted = errors.New("dashboard: already started")

// New returns a Dashboard. It serves requests at once; charts fill once
// Start runs the sampler.
func New(o Options) (*Dashboard, error) {
	if o.Backend == nil {
		return nil, errors.New("dashboard: Options.Backend is required")
	}
	if o.History == 0 {
		o.History = 24 * time.Hour
	}
	if o.History < CoarseStep {
		return nil, fmt.Errorf("dashboard: Options.History %s is shorter than %s", o.History, CoarseStep)
	}
	if o.History > 31*24*time.Hour {
		return nil, fmt.Errorf("dashboard: Options.History %s is longer than 31 days", o.History)
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	d := &Dashboard{o: o, hist: newHistory(o.History), log: autoscale.NewDecisionLog(0), hub: newHub()}
	d.smp = &sampler{d: d}
	if o.StateFile != "" {
		if err := d.loadState(); err != nil {
			o.Logger.Warn("dashboard: starting with an empty history", "error", err)
		}
	}
	d.routes()
	return d, nil
}

// Start runs the sampler in the background (a first sample at once, then
// one every second) until ctx ends or Stop is called.
func (d *Dashboard) Start(ctx context.Context) error {
	d.lifeMu.Lock()
	defer d.lifeMu.Unlock()
	if d.started {
		return ErrStarted
	}
	d.started = true
	ctx, d.cancel = context.WithCancel(ctx)
	d.done = make(chan struct{})
	go d.loop(ctx, d.done)
	return nil
}

// Stop ends the sampler, waits for it within ctx, closes every open event
// stream and writes Options.StateFile. It is safe to call more than once,
// and before Start.
func (d *Dashboard) Stop(ctx context.Context) error {
	d.lifeMu.Lock()
	cancel, done := d.cancel, d.done
	d.lifeMu.Unlock()
	d.hub.close()
	if err := service.Halt(ctx, cancel, done); err != nil {
		return fmt.Errorf("dashboard: stop: the sampler is still running: %w", err)
	}
	return d.saveState()
}

func (d *Dashboard) loop(ctx context.Context, done chan struct{}) {
	defer close(done)
	saved := d.o.Clock.Now()
	for {
		began := d.o.Clock.Now()
		d.smp.tick(ctx)
		if began.Sub(saved) >= saveEvery {
			saved = began
			if err := d.saveState(); err != nil {
				d.o.Logger.Warn("dashboard: saving the history", "error", err)
			}
		}
		wait := FineStep - d.o.Clock.Now().Sub(began)
		t := d.o.Clock.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
	}
}

// sampler turns Backend samples into history points and events. It is used
// by the sampler goroutine only.
type sampler struct {
	d       *Dashboard
	prev    map[string]QueueSample // last counters by queue name
	prevAt  time.Time
	prevF   *Failures // the last sample's failures, for their rates
	failing bool
}

func (s *sampler) tick(ctx context.Context) {
	d := s.d
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	smp, err := d.o.Backend.Sample(sctx)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		if !s.failing {
			d.o.Logger.Warn("dashboard: sample failed", "error", err)
		}
		s.failing = true
	} else {
		s.failing = false
		if smp.Time.IsZero() {
			smp.Time = d.o.Clock.Now()
		}
		p := s.point(smp)
		d.hist.add(p)
		ev := appendSampleEvent(nil, p, smp, d.o.Backend.Workers())
		d.lastMu.Lock()
		d.last = ev
		d.lastMu.Unlock()
		d.hub.publish(frame("sample", ev))
	}
	d.syncDecisions()
}

// syncDecisions takes the decisions the Backend made since the last call
// into the decision log and publishes each entry they made or updated as
// a "decision" event.
func (d *Dashboard) syncDecisions() {
	d.decMu.Lock()
	defer d.decMu.Unlock()
	all := d.o.Backend.Decisions(decisionsOnConnect)
	if len(all) == 0 {
		return
	}
	if all[len(all)-1].Seq < d.lastSeq {
		d.lastSeq = 0 // the autoscaler restarted
	}
	for _, dec := range all {
		if dec.Seq > d.lastSeq {
			d.hub.publish(frame("decision", mustJSON(d.log.Add(dec))))
		}
	}
	d.lastSeq = all[len(all)-1].Seq
}

// point makes a history point of smp: the charted queue's counts (or the
// sums over the charted queues), its rates since the previous sample, and the
// autoscaler's figures.
func (s *sampler) point(smp Sample) point {
	p := point{t: smp.Time.Unix()}
	dt := smp.Time.Sub(s.prevAt).Seconds()
	var sent, recv, del float64
	cur := make(map[string]QueueSample, len(smp.Queues))
	for _, q := range smp.Queues {
		cur[q.Name] = q
		if !smp.charts(q.Name) {
			continue
		}
		p.v[fVisible] += float32(q.Visible)
		p.v[fInFlight] += float32(q.InFlight)
		p.v[fDelayed] += float32(q.Delayed)
		if old, ok := s.prev[q.Name]; ok && dt > 0 {
			sent += delta(old.Sent, q.Sent) / dt
			recv += delta(old.Received, q.Received) / dt
			del += delta(old.Deleted, q.Deleted) / dt
		}
	}
	nan := float32(math.NaN())
	if s.prev == nil {
		sent, recv, del = math.NaN(), math.NaN(), math.NaN()
	}
	p.v[fSent], p.v[fReceived], p.v[fDeleted] = float32(sent), float32(recv), float32(del)
	p.v[fBacklog] = float32(smp.BacklogPerWorker)
	p.v[fTarget] = nan
	if smp.Target > 0 {
		p.v[fTarget] = float32(smp.Target)
	}
	p.v[fDesired] = float32(smp.Fleet.Desired)
	p.v[fRunning] = float32(smp.Fleet.Running)
	p.v[fStarting] = float32(smp.Fleet.Starting)
	p.v[fProcessingMs] = nan
	if smp.ProcessingTime > 0 {
		p.v[fProcessingMs] = float32(smp.ProcessingTime.Seconds() * 1000)
	}
	p.v[fFailed], p.v[fDeadLettered] = nan, nan
	if f := smp.Failures; f != nil {
		if old := s.prevF; old != nil && dt > 0 {
			p.v[fFailed] = float32(delta(old.Failed, f.Failed) / dt)
			p.v[fDeadLettered] = float32(delta(old.DeadLettered, f.DeadLettered) / dt)
		}
	}
	s.prev, s.prevAt, s.prevF = cur, smp.Time, smp.Failures
	return p
}

// delta is how much a cumulative counter grew; 0 if it went back (the
// queue was recreated).
func delta(old, cur uint64) float64 {
	if cur < old {
		return 0
	}
	return float64(cur - old)
}

// appendSampleEvent appends the "sample" event's JSON:
// {"point":{...},"queue":"...","queues":[...],"fleet":{...},"workers":[...]}.
func appendSampleEvent(b []byte, p point, smp Sample, workers []WorkerInfo) []byte {
	b = append(b, `{"point":`...)
	b = appendPointJSON(b, p)
	b = append(b, `,"queue":`...)
	b = append(b, mustJSON(smp.Queue)...)
	if smp.Queues == nil {
		smp.Queues = []QueueSample{}
	}
	b = append(b, `,"queues":`...)
	b = append(b, mustJSON(smp.Queues)...)
	b = append(b, `,"fleet":`...)
	b = append(b, mustJSON(smp.Fleet)...)
	if workers == nil {
		workers = []WorkerInfo{}
	}
	b = append(b, `,"workers":`...)
	b = append(b, mustJSON(workers)...)
	if smp.Failures != nil {
		b = append(b, `,"failures":`...)
		b = append(b, mustJSON(smp.Failures)...)
	}
	return append(b, '}')
}
