package storebench

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestConformance runs every candidate through the same life: durable sends,
// lazy receives and deletes, Flush, Close, and recovery of exactly the live set.
func TestConformance(t *testing.T) {
	t.Parallel()
	for _, c := range allStores {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := dataDir(t)
			s := openStore(t, c, dir)
			want := map[uint64]Msg{}
			for id := uint64(1); id <= 30; id += 3 {
				batch := []Msg{}
				for i := id; i < id+3; i++ {
					m := Msg{ID: i, Body: []byte(fmt.Sprintf("body-%d", i))}
					batch = append(batch, m)
					want[i] = m
				}
				if err := s.Send(batch); err != nil {
					t.Fatal(err)
				}
			}
			for id := uint64(1); id <= 30; id += 2 {
				if err := s.Receive(id, 2, int64(id)*1000); err != nil {
					t.Fatal(err)
				}
				m := want[id]
				m.Received, m.VisibleAt = 2, int64(id)*1000
				want[id] = m
			}
			for id := uint64(3); id <= 30; id += 3 {
				if err := s.Delete(id); err != nil {
					t.Fatal(err)
				}
				delete(want, id)
			}
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}

			s = openStore(t, c, dir)
			defer s.Close()
			got := map[uint64]Msg{}
			if err := s.Recover(func(m Msg) { got[m.ID] = m }); err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("recovered %d messages, want %d", len(got), len(want))
			}
			for id, w := range want {
				g := got[id]
				if g.Received != w.Received || g.VisibleAt != w.VisibleAt || !bytes.Equal(g.Body, w.Body) {
					t.Errorf("message %d: got %+v, want %+v", id, g, w)
				}
			}
		})
	}
}

// TestAppLogTornTail checks that a torn last record is cut off at recovery and
// that writing goes on after it.
func TestAppLogTornTail(t *testing.T) {
	t.Parallel()
	dir := dataDir(t)
	s := openStore(t, candidate{"applog", openAppLog}, dir)
	if err := s.Send([]Msg{{ID: 1, Body: []byte("a")}, {ID: 2, Body: []byte("b")}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	seg := filepath.Join(dir, fmt.Sprintf("%016d.log", 1))
	data, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(seg, data[:len(data)-3], 0o600); err != nil { // tear message 2
		t.Fatal(err)
	}
	for round, want := range []int{1, 2} {
		s = openStore(t, candidate{"applog", openAppLog}, dir)
		n := 0
		if err := s.Recover(func(Msg) { n++ }); err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Fatalf("round %d: recovered %d messages, want %d", round, n, want)
		}
		if round == 0 {
			if err := s.Send([]Msg{{ID: 3, Body: []byte("c")}}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAppLogReclaim checks that segments whose messages are all deleted are
// removed, and that a segment holding a live message is kept.
func TestAppLogReclaim(t *testing.T) {
	t.Parallel()
	dir := dataDir(t)
	st, err := openAppLog(dir)
	if err != nil {
		t.Fatal(err)
	}
	l := st.(*appLog)
	l.segSize = 4 << 10
	body := make([]byte, 1000)
	for id := uint64(1); id <= 40; id++ {
		if err := l.Send([]Msg{{ID: id, Body: body}}); err != nil {
			t.Fatal(err)
		}
	}
	for id := uint64(1); id <= 40; id++ {
		if id == 30 {
			continue
		}
		if err := l.Delete(id); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	segs, err := l.segments()
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) > 4 {
		t.Fatalf("%d segments left after deleting all but one message, want at most 4", len(segs))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = openAppLog(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var ids []uint64
	if err := st.Recover(func(m Msg) { ids = append(ids, m.ID) }); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 || ids[0] != 30 {
		t.Fatalf("recovered %v, want [30]", ids)
	}
}
