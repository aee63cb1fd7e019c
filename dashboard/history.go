package dashboard

import (
	"math"
	"strconv"
	"sync"
	"time"
)

// The series a history point holds, in order.
const (
	fVisible = iota
	fInFlight
	fDelayed
	fSent     // messages sent per second
	fReceived // messages received per second
	fDeleted  // messages deleted per second
	fBacklog  // backlog per worker
	fTarget   // its target; NaN when none
	fDesired
	fRunning
	fStarting
	fProcessingMs // mean processing time in milliseconds; NaN when unknown
	fFailed       // handler failures per second; NaN when unknown
	fDeadLettered // messages moved to the dead-letter queue per second; NaN when unknown
	numFields
)

// fieldNames are the series' names in the JSON the page reads.
var fieldNames = [numFields]string{
	"visible", "inFlight", "delayed", "sent", "received", "deleted",
	"backlogPerWorker", "target", "desired", "running", "starting", "processingMs",
	"failed", "deadLettered",
}

// point is one second of history. float32 keeps a day of history small; the
// counts it stores are exact up to 2^24.
type point struct {
	t int64 // Unix seconds
	v [numFields]float32
}

// bucket is one coarse step of history: the mean, minimum and maximum of the
// points that fell in it. NaN values are left out; a series with no value in
// the step is NaN.
type bucket struct {
	t            int64 // Unix seconds at the start of the step
	mean, lo, hi [numFields]float32
}

// Resolutions of the history.
const (
	// FineStep is the resolution of the last FineWindow of history.
	FineStep = time.Second
	// FineWindow is how much history is kept at FineStep.
	FineWindow = time.Hour
	// CoarseStep is the resolution of older history, up to Options.History.
	CoarseStep = time.Minute
)

// history keeps the recent past in two fixed-size rings: one point a second
// for the last hour, one bucket a minute (mean, min, max) for the rest. It
// allocates nothing after newHistory, so its memory is bounded by its
// capacity: about 60 bytes a second and 160 bytes a minute.
type history struct {
	mu     sync.Mutex // guards everything below
	fine   ring[point]
	coarse ring[bucket]
	// acc accumulates the current coarse step.
	acc        accumulator
	coarseStep int64
}

type accumulator struct {
	t      int64 // start of the step; 0 when empty
	n      [numFields]int32
	sum    [numFields]float64
	lo, hi [numFields]float32
}

func newHistory(keep time.Duration) *history {
	fineN := int(min(keep, FineWindow) / FineStep)
	coarseN := int((keep + CoarseStep - 1) / CoarseStep)
	return &history{
		fine:       newRing[point](max(fineN, 1)),
		coarse:     newRing[bucket](max(coarseN, 1)),
		coarseStep: int64(CoarseStep / time.Second),
	}
}

// add records p. Points must come in time order; one older than or as old as
// the newest is dropped.
func (h *history) add(p point) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if last, ok := h.fine.last(); ok && p.t <= last.t {
		return
	}
	h.fine.push(p)
	step := p.t - mod(p.t, h.coarseStep)
	if h.acc.t != 0 && h.acc.t != step {
		h.flushLocked()
	}
	if h.acc.t == 0 {
		h.acc = accumulator{t: step}
	}
	for i, v := range p.v {
		if isNaN32(v) {
			continue
		}
		if h.acc.n[i] == 0 || v < h.acc.lo[i] {
			h.acc.lo[i] = v
		}
		if h.acc.n[i] == 0 || v > h.acc.hi[i] {
			h.acc.hi[i] = v
		}
		h.acc.n[i]++
		h.acc.sum[i] += float64(v)
	}
}

func (h *history) flushLocked() {
	b := bucket{t: h.acc.t}
	nan := float32(math.NaN())
	for i := range numFields {
		if h.acc.n[i] == 0 {
			b.mean[i], b.lo[i], b.hi[i] = nan, nan, nan
			continue
		}
		b.mean[i] = float32(h.acc.sum[i] / float64(h.acc.n[i]))
		b.lo[i], b.hi[i] = h.acc.lo[i], h.acc.hi[i]
	}
	h.coarse.push(b)
	h.acc = accumulator{}
}

func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

func isNaN32(v float32) bool { return v != v }

// appendJSON appends the history as the page reads it:
//
//	{"fineStep":1,"coarseStep":60,
//	 "coarse":{"t":[...],"mean":{"visible":[...],...},"min":{...},"max":{...}},
//	 "fine":{"t":[...],"v":{"visible":[...],...}}}
//
// Times are Unix seconds; coarse buckets cover only the time before the
// first fine point; missing values are null.
func (h *history) appendJSON(b []byte) []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	fineFrom := int64(math.MaxInt64)
	if first, ok := h.fine.first(); ok {
		fineFrom = first.t
	}
	var coarse []bucket
	h.coarse.each(func(k *bucket) {
		if k.t+h.coarseStep <= fineFrom {
			coarse = append(coarse, *k)
		}
	})
	b = append(b, `{"fineStep":1,"coarseStep":`...)
	b = strconv.AppendInt(b, h.coarseStep, 10)
	b = append(b, `,"fineWindow":`...)
	b = strconv.AppendInt(b, int64(h.fine.cap()), 10)
	b = append(b, `,"keep":`...)
	b = strconv.AppendInt(b, int64(h.coarse.cap())*h.coarseStep, 10)
	b = append(b, `,"coarse":{"t":[`...)
	for i, k := range coarse {
		b = appendSep(b, i)
		b = strconv.AppendInt(b, k.t, 10)
	}
	b = append(b, ']')
	for _, part := range []struct {
		name string
		get  func(k *bucket) *[numFields]float32
	}{
		{"mean", func(k *bucket) *[numFields]float32 { return &k.mean }},
		{"min", func(k *bucket) *[numFields]float32 { return &k.lo }},
		{"max", func(k *bucket) *[numFields]float32 { return &k.hi }},
	} {
		b = append(b, `,"`...)
		b = append(b, part.name...)
		b = append(b, `":{`...)
		for f := range numFields {
			b = appendSep(b, f)
			b = append(b, '"')
			b = append(b, fieldNames[f]...)
			b = append(b, `":[`...)
			for i := range coarse {
				b = appendSep(b, i)
				b = appendFloat(b, part.get(&coarse[i])[f])
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	b = append(b, `},"fine":{"t":[`...)
	i := 0
	h.fine.each(func(p *point) {
		b = appendSep(b, i)
		b = strconv.AppendInt(b, p.t, 10)
		i++
	})
	b = append(b, `],"v":{`...)
	for f := range numFields {
		b = appendSep(b, f)
		b = append(b, '"')
		b = append(b, fieldNames[f]...)
		b = append(b, `":[`...)
		i := 0
		h.fine.each(func(p *point) {
			b = appendSep(b, i)
			b = appendFloat(b, p.v[f])
			i++
		})
		b = append(b, ']')
	}
	return append(b, "}}}"...)
}

// appendPointJSON appends p as {"t":T,"v":{"visible":1,...}}.
func appendPointJSON(b []byte, p point) []byte {
	b = append(b, `{"t":`...)
	b = strconv.AppendInt(b, p.t, 10)
	b = append(b, `,"v":{`...)
	for f := range numFields {
		b = appendSep(b, f)
		b = append(b, '"')
		b = append(b, fieldNames[f]...)
		b = append(b, `":`...)
		b = appendFloat(b, p.v[f])
	}
	return append(b, "}}"...)
}

func appendSep(b []byte, i int) []byte {
	if i > 0 {
		return append(b, ',')
	}
	return b
}

func appendFloat(b []byte, v float32) []byte {
	if isNaN32(v) || math.IsInf(float64(v), 0) {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, float64(v), 'g', 6, 32)
}

// ring is a fixed-capacity circular buffer that overwrites its oldest
// element when full. Not safe for concurrent use.
type ring[T any] struct {
	buf   []T
	start int // index of the oldest element
	n     int
}

func newRing[T any](capacity int) ring[T] { return ring[T]{buf: make([]T, capacity)} }

func (r *ring[T]) push(v T) {
	if r.n < len(r.buf) {
		r.buf[(r.start+r.n)%len(r.buf)] = v
		r.n++
		return
	}
	r.buf[r.start] = v
	r.start = (r.start + 1) % len(r.buf)
}

func (r *ring[T]) len() int { return r.n }

func (r *ring[T]) cap() int { return len(r.buf) }

func (r *ring[T]) first() (T, bool) {
	if r.n == 0 {
		var zero T
		return zero, false
	}
	return r.buf[r.start], true
}

func (r *ring[T]) last() (T, bool) {
	if r.n == 0 {
		var zero T
		return zero, false
	}
	return r.buf[(r.start+r.n-1)%len(r.buf)], true
}

// each calls fn for every element, oldest first.
func (r *ring[T]) each(fn func(*T)) {
	for i := range r.n {
		fn(&r.buf[(r.start+i)%len(r.buf)])
	}
}
