package dashboard

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/qscale/qscale/autoscale"
)

func FuzzDecodeSend(f *testing.F) {
	for _, s := range []string{`{"body":"x"}`, `{"body":""}`, `{}`, `{"body":"x"} `, `{"body":"x"}{}`, `{"body":5}`,
		`{"body":"\ud800"}`, "{\"body\":\"\xff\"}", `[`, `null`, `{"Body":"x"}`, `{"body":"x","x":1}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		req, err := decodeSend(strings.NewReader(in))
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if req.Body == "" || !utf8.ValidString(req.Body) {
			t.Fatalf("accepted body %q from %q", req.Body, in)
		}
		// What was accepted is the same message when sent again.
		b, _ := json.Marshal(req)
		again, err := decodeSend(strings.NewReader(string(b)))
		if err != nil || again != req {
			t.Fatalf("round trip of %q: %+v, %v", in, again, err)
		}
	})
}

func FuzzDecodePurge(f *testing.F) {
	for _, s := range []string{``, `{}`, ` `, `{"x":1}`, `null`, `[]`, `{}{}`, strings.Repeat(" ", 2000)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		err := decodePurge(strings.NewReader(in))
		if err != nil {
			return
		}
		trimmed := strings.TrimSpace(in)
		if trimmed != "" && trimmed != "null" && !strings.HasPrefix(trimmed, "{") {
			t.Fatalf("accepted %q", in)
		}
	})
}

// A state file is read back whatever it holds: a good file restores, a
// damaged one is an error and is set aside, never a panic.
func FuzzLoadState(f *testing.F) {
	good := func() []byte {
		d, err := New(Options{Backend: nopBackend{}, StateFile: f.TempDir() + "/s"})
		if err != nil {
			f.Fatal(err)
		}
		d.hist.add(point{t: 100})
		d.log.Add(autoscale.Decision{Seq: 1, From: 0, To: 1, Applied: true})
		if err := d.saveState(); err != nil {
			f.Fatal(err)
		}
		b, err := os.ReadFile(d.o.StateFile)
		if err != nil {
			f.Fatal(err)
		}
		return b
	}()
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte{})
	f.Add([]byte("not gob"))
	f.Fuzz(func(t *testing.T, in []byte) {
		path := t.TempDir() + "/s"
		if err := os.WriteFile(path, in, 0o644); err != nil {
			t.Fatal(err)
		}
		d := &Dashboard{o: Options{StateFile: path}, hist: newHistory(time.Hour), log: autoscale.NewDecisionLog(0)}
		if err := d.loadState(); err != nil {
			if _, serr := os.Stat(path + ".bad"); serr != nil {
				t.Fatalf("damaged file (%v) not set aside: %v", err, serr)
			}
			return
		}
		_ = d.hist.appendJSON(nil)
		_ = d.log.Last(10)
	})
}

// nopBackend is a Backend with nothing in it.
type nopBackend struct{}

func (nopBackend) Sample(context.Context) (Sample, error)               { return Sample{}, nil }
func (nopBackend) Queues(context.Context) ([]QueueInfo, error)          { return nil, nil }
func (nopBackend) Decisions(int) []autoscale.Decision                   { return nil }
func (nopBackend) Workers() []WorkerInfo                                { return nil }
func (nopBackend) Send(context.Context, string, string) (string, error) { return "", nil }
func (nopBackend) Purge(context.Context, string) error                  { return nil }
