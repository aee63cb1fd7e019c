package up

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/qscale/qscale/internal/clock"
)

// Whatever the workers and their handlers write, each line qscale up
// passes on with --log-format json is one JSON object; a worker's own
// record keeps its fields and gains its worker's id.
func FuzzJSONWorkerLines(f *testing.F) {
	f.Add([]byte("[w1] {\"time\":\"2026-12-01T00:00:00Z\",\"level\":\"INFO\",\"msg\":\"started\"}\n"))
	f.Add([]byte("[w2] Traceback (most recent call last):\n[w2]   File \"x\"\n"))
	f.Add([]byte("[w3] {}\n[w3] {\"worker\":\"inner\"}\nno prefix\n"))
	f.Add([]byte("[w4] {\"broken\": \n\xff\xfe\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		j := newJSONWorkerLines(&out, clock.NewFake(time.Unix(0, 0)))
		if _, err := j.Write(in); err != nil {
			t.Fatal(err)
		}
		for line := range bytes.Lines(out.Bytes()) {
			var rec map[string]any
			if err := json.Unmarshal(line, &rec); err != nil {
				t.Fatalf("%q became %q: %v", in, line, err)
			}
		}
	})
}

func TestJSONWorkerLines(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	j := newJSONWorkerLines(&out, clock.NewFake(time.Unix(0, 0).UTC()))
	_, _ = j.Write([]byte("[w1] {\"level\":\"WARN\",\"msg\":\"handler failed\"}\n[w1] boom\n"))
	want := `{"worker":"w1","level":"WARN","msg":"handler failed"}` + "\n" +
		`{"time":"1970-01-01T00:00:00Z","level":"INFO","msg":"boom","worker":"w1"}` + "\n"
	if out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}
}
