package dashboard

import (
	"encoding/json"
	"math"
	"testing"
	"time"
	"unsafe"
)

// historyJSON is the page's view of /api/history.
type historyJSON struct {
	FineStep   int64 `json:"fineStep"`
	CoarseStep int64 `json:"coarseStep"`
	FineWindow int64 `json:"fineWindow"`
	Keep       int64 `json:"keep"`
	Coarse     struct {
		T    []int64               `json:"t"`
		Mean map[string][]*float64 `json:"mean"`
		Min  map[string][]*float64 `json:"min"`
		Max  map[string][]*float64 `json:"max"`
	} `json:"coarse"`
	Fine struct {
		T []int64               `json:"t"`
		V map[string][]*float64 `json:"v"`
	} `json:"fine"`
}

func decodeHistory(t *testing.T, b []byte) historyJSON {
	t.Helper()
	var h historyJSON
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatalf("history JSON: %v\n%.300s", err, b)
	}
	return h
}

func pt(t int64, visible float32) point {
	p := point{t: t}
	for i := range p.v {
		p.v[i] = float32(math.NaN())
	}
	p.v[fVisible] = visible
	return p
}

func TestHistoryDownsampling(t *testing.T) {
	t.Parallel()
	h := newHistory(3 * time.Hour)
	start := int64(1_800_000_000) // a multiple of 60
	// Two hours: visible counts 0..59 within every minute, so each minute's
	// mean is 29.5, min 0 and max 59.
	for s := range int64(2 * 3600) {
		h.add(pt(start+s, float32(s%60)))
	}
	got := decodeHistory(t, h.appendJSON(nil))
	if got.FineStep != 1 || got.CoarseStep != 60 || got.FineWindow != 3600 || got.Keep != 3*3600 {
		t.Errorf("steps = %d/%d window %d keep %d, want 1/60 3600 10800", got.FineStep, got.CoarseStep, got.FineWindow, got.Keep)
	}
	if n := len(got.Fine.T); n != 3600 {
		t.Fatalf("fine points = %d, want 3600 (the last hour)", n)
	}
	if first, last := got.Fine.T[0], got.Fine.T[3599]; first != start+3600 || last != start+7199 {
		t.Errorf("fine covers %d..%d, want %d..%d", first, last, start+3600, start+7199)
	}
	if v := got.Fine.V["visible"][59]; v == nil || *v != 59 {
		t.Errorf("fine visible[59] = %v, want 59", v)
	}
	if v := got.Fine.V["target"][0]; v != nil {
		t.Errorf("fine target = %v, want null (no target)", *v)
	}
	// Coarse: the first hour, one bucket a minute, none overlapping fine.
	if n := len(got.Coarse.T); n != 60 {
		t.Fatalf("coarse buckets = %d, want 60", n)
	}
	for i, ts := range got.Coarse.T {
		if ts != start+int64(i)*60 {
			t.Fatalf("coarse t[%d] = %d, want %d", i, ts, start+int64(i)*60)
		}
		mean, lo, hi := got.Coarse.Mean["visible"][i], got.Coarse.Min["visible"][i], got.Coarse.Max["visible"][i]
		if mean == nil || *mean != 29.5 || *lo != 0 || *hi != 59 {
			t.Fatalf("coarse bucket %d visible mean/min/max = %v/%v/%v, want 29.5/0/59", i, *mean, *lo, *hi)
		}
		if got.Coarse.Mean["target"][i] != nil {
			t.Fatalf("coarse bucket %d target = %v, want null", i, *got.Coarse.Mean["target"][i])
		}
	}
}

func TestHistoryDropsOldAndRepeatedPoints(t *testing.T) {
	t.Parallel()
	h := newHistory(time.Hour)
	h.add(pt(100, 1))
	h.add(pt(100, 2)) // same second: dropped
	h.add(pt(99, 3))  // older: dropped
	h.add(pt(102, 4)) // a gap is fine
	got := decodeHistory(t, h.appendJSON(nil))
	if len(got.Fine.T) != 2 || got.Fine.T[0] != 100 || got.Fine.T[1] != 102 || *got.Fine.V["visible"][1] != 4 {
		t.Errorf("fine = %v %v, want [100 102] with visible 1, 4", got.Fine.T, got.Fine.V["visible"])
	}
}

// A day of history at one sample a second stays within fixed rings: after
// two days the rings hold exactly their capacity, adding a point allocates
// nothing, and the history the page downloads stays small.
func TestHistoryMemoryBound(t *testing.T) {
	// Not parallel: testing.AllocsPerRun refuses parallel tests.
	h := newHistory(24 * time.Hour)
	start := int64(1_800_000_000)
	var s int64
	for ; s < 2*86400; s++ {
		h.add(pt(start+s, float32(s%100)))
	}
	if h.fine.len() != 3600 || h.coarse.len() != 1440 {
		t.Fatalf("rings hold %d fine and %d coarse points, want 3600 and 1440", h.fine.len(), h.coarse.len())
	}
	size := uintptr(h.fine.cap())*unsafe.Sizeof(point{}) + uintptr(h.coarse.cap())*unsafe.Sizeof(bucket{})
	if size > 512<<10 {
		t.Errorf("a day of history takes %d bytes, want at most 512 KiB", size)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		h.add(pt(start+s, 1))
		s++
	})
	if allocs != 0 {
		t.Errorf("add allocates %.1f times, want 0", allocs)
	}
	b := h.appendJSON(nil)
	got := decodeHistory(t, b)
	if len(got.Fine.T) != 3600 || len(got.Coarse.T) < 1380 || len(got.Coarse.T) > 1440 {
		t.Errorf("JSON holds %d fine and %d coarse points, want 3600 and 1380..1440", len(got.Fine.T), len(got.Coarse.T))
	}
	// 12 series: 3600 fine values and 3x1440 coarse values each.
	if len(b) > 1<<20 {
		t.Errorf("a day of history is %d bytes of JSON, want at most 1 MiB", len(b))
	}
	t.Logf("a day of history: %d bytes in memory, %d bytes of JSON, rings of %d+%d points", size, len(b), h.fine.cap(), h.coarse.cap())
}

func TestHistoryShorterThanAnHour(t *testing.T) {
	t.Parallel()
	h := newHistory(10 * time.Minute)
	for s := range int64(3600) {
		h.add(pt(1_800_000_000+s, 1))
	}
	if h.fine.len() != 600 || h.coarse.len() != 10 {
		t.Errorf("rings hold %d fine and %d coarse points, want 600 and 10", h.fine.len(), h.coarse.len())
	}
}

func TestAppendPointJSON(t *testing.T) {
	t.Parallel()
	p := pt(42, 7)
	p.v[fBacklog] = 2.5
	var got struct {
		T int64               `json:"t"`
		V map[string]*float64 `json:"v"`
	}
	if err := json.Unmarshal(appendPointJSON(nil, p), &got); err != nil {
		t.Fatal(err)
	}
	if got.T != 42 || *got.V["visible"] != 7 || *got.V["backlogPerWorker"] != 2.5 || got.V["target"] != nil || len(got.V) != int(numFields) {
		t.Errorf("point JSON = %+v", got)
	}
}

// The charts count the named queue, else the charted ones (a fleet's
// several queues, not the other fleets' or the dead-letter queues), else
// every queue; rates come from the same queues.
func TestPointChartsTheFleetsQueues(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	queues := func(sent uint64) []QueueSample {
		return []QueueSample{
			{Name: "a", Visible: 1, Sent: sent},
			{Name: "b", Visible: 10, Sent: 2 * sent},
			{Name: "other-fleet", Visible: 100, Sent: 4 * sent},
		}
	}
	for _, c := range []struct {
		name          string
		smp           Sample
		visible, sent float32
	}{
		{"named", Sample{Queue: "b"}, 10, 20},
		{"charted", Sample{Charted: []string{"a", "b"}}, 11, 30},
		{"all", Sample{}, 111, 70},
	} {
		s := &sampler{}
		first, second := c.smp, c.smp
		first.Time, first.Queues = at, queues(0)
		second.Time, second.Queues = at.Add(time.Second), queues(10)
		s.point(first)
		p := s.point(second)
		if p.v[fVisible] != c.visible || p.v[fSent] != c.sent {
			t.Errorf("%s: visible %v, sent %v/s; want %v, %v", c.name, p.v[fVisible], p.v[fSent], c.visible, c.sent)
		}
	}
}
