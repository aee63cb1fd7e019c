package dashboard

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"

	"github.com/qscale/qscale/autoscale"
)

// stateVersion is the format of Options.StateFile. A file of another
// version is set aside, not read.
const stateVersion = 1

// savedState is what Options.StateFile holds (encoding/gob, which keeps
// the NaN of unknown values): the history and the decision log. Series
// are stored by name, so a qscale that charts more series reads an older
// file (the new series are unknown there) and the reverse.
type savedState struct {
	Version int
	Fields  []string
	// Fine points and coarse buckets, oldest first; V, Mean, Lo and Hi
	// hold one value per field, in Fields' order.
	Fine   []savedPoint
	Coarse []savedBucket
	// Acc is the coarse step being filled.
	Acc       savedBucket
	AccN      []int32
	AccSum    []float64
	Decisions []autoscale.Decision
}

type savedPoint struct {
	T int64
	V []float32
}

type savedBucket struct {
	T            int64
	Mean, Lo, Hi []float32
}

// saveState writes Options.StateFile, replacing it atomically.
func (d *Dashboard) saveState() error {
	if d.o.StateFile == "" {
		return nil
	}
	st := d.hist.save()
	st.Decisions = d.log.Last(autoscale.DefaultLogEntries)
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(st); err != nil {
		return fmt.Errorf("dashboard state: %w", err)
	}
	dir := filepath.Dir(d.o.StateFile)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("dashboard state: %w", err)
	}
	f, err := os.CreateTemp(dir, ".dashboard-state-*")
	if err != nil {
		return fmt.Errorf("dashboard state: %w", err)
	}
	_, err = f.Write(b.Bytes())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), d.o.StateFile)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("dashboard state: %w", err)
	}
	return nil
}

// loadState reads Options.StateFile when it exists. A file that cannot be
// read is renamed to StateFile+".bad" (kept for a person to look at) and
// the dashboard starts empty.
func (d *Dashboard) loadState() error {
	b, err := os.ReadFile(d.o.StateFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("dashboard state: %w", err)
	}
	var st savedState
	err = gob.NewDecoder(bytes.NewReader(b)).Decode(&st)
	if err == nil && st.Version != stateVersion {
		err = fmt.Errorf("version %d, this qscale reads version %d", st.Version, stateVersion)
	}
	if err != nil {
		bad := d.o.StateFile + ".bad"
		_ = os.Rename(d.o.StateFile, bad)
		return fmt.Errorf("dashboard state %s (set aside as %s): %w", d.o.StateFile, bad, err)
	}
	d.hist.restore(st)
	d.log.Restore(st.Decisions)
	return nil
}

// save returns the history as savedState.
func (h *history) save() savedState {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := savedState{Version: stateVersion, Fields: fieldNames[:]}
	h.fine.each(func(p *point) {
		st.Fine = append(st.Fine, savedPoint{T: p.t, V: append([]float32(nil), p.v[:]...)})
	})
	h.coarse.each(func(k *bucket) {
		st.Coarse = append(st.Coarse, savedBucket{T: k.t, Mean: append([]float32(nil), k.mean[:]...),
			Lo: append([]float32(nil), k.lo[:]...), Hi: append([]float32(nil), k.hi[:]...)})
	})
	st.Acc = savedBucket{T: h.acc.t, Lo: append([]float32(nil), h.acc.lo[:]...), Hi: append([]float32(nil), h.acc.hi[:]...)}
	st.AccN = append([]int32(nil), h.acc.n[:]...)
	st.AccSum = append([]float64(nil), h.acc.sum[:]...)
	return st
}

// restore replaces the history with st's, keeping what fits.
func (h *history) restore(st savedState) {
	// index[i] is the saved position of field i, -1 when the file lacks it.
	var index [numFields]int
	for i := range index {
		index[i] = -1
		for j, name := range st.Fields {
			if name == fieldNames[i] {
				index[i] = j
			}
		}
	}
	nan := float32(math.NaN())
	pick := func(vs []float32, i int) float32 {
		if j := index[i]; j >= 0 && j < len(vs) {
			return vs[j]
		}
		return nan
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, k := range st.Coarse {
		b := bucket{t: k.T}
		for i := range numFields {
			b.mean[i], b.lo[i], b.hi[i] = pick(k.Mean, i), pick(k.Lo, i), pick(k.Hi, i)
		}
		h.coarse.push(b)
	}
	for _, sp := range st.Fine {
		p := point{t: sp.T}
		for i := range numFields {
			p.v[i] = pick(sp.V, i)
		}
		h.fine.push(p)
	}
	if st.Acc.T != 0 {
		h.acc = accumulator{t: st.Acc.T}
		for i := range numFields {
			if j := index[i]; j >= 0 && j < len(st.AccN) && j < len(st.AccSum) {
				h.acc.n[i], h.acc.sum[i] = st.AccN[j], st.AccSum[j]
				h.acc.lo[i], h.acc.hi[i] = pick(st.Acc.Lo, i), pick(st.Acc.Hi, i)
			}
		}
	}
}
