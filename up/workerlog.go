package up

import (
	"bytes"
	"encoding/json"
	"io"
	"sync"
	"time"

	"github.com/qscale/qscale/internal/clock"
)

// jsonWorkerLines turns the workers' output lines, as the local fleet
// writes them ("[w3] " and the line), into one JSON object a line, so
// that with --log-format json every line qscale up writes to stderr
// parses: a worker's own JSON record gains "worker":"w3"; any other line
// (a handler's output, a crash message) becomes a record at INFO with the
// line as its msg.
type jsonWorkerLines struct {
	clk clock.Clock
	mu  sync.Mutex // guards writes to w
	w   io.Writer
}

func newJSONWorkerLines(w io.Writer, clk clock.Clock) *jsonWorkerLines {
	return &jsonWorkerLines{w: w, clk: clk}
}

// Write takes whole lines (the local fleet writes nothing else).
func (j *jsonWorkerLines) Write(p []byte) (int, error) {
	var out []byte
	for line := range bytes.Lines(p) {
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			continue
		}
		out = append(j.record(out, line), '\n')
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := j.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// record appends line as one JSON object to out.
func (j *jsonWorkerLines) record(out, line []byte) []byte {
	id := ""
	if rest, ok := bytes.CutPrefix(line, []byte("[")); ok {
		if i := bytes.Index(rest, []byte("] ")); i > 0 {
			id, line = string(rest[:i]), rest[i+2:]
		}
	}
	var obj map[string]json.RawMessage
	if bytes.HasPrefix(line, []byte("{")) && json.Unmarshal(line, &obj) == nil {
		if _, has := obj["worker"]; has || id == "" {
			return append(out, line...)
		}
		idJSON, _ := json.Marshal(id)
		out = append(out, `{"worker":`...)
		out = append(out, idJSON...)
		if len(obj) > 0 {
			out = append(out, ',')
		}
		return append(out, bytes.TrimSpace(line)[1:]...)
	}
	rec := struct {
		Time   time.Time `json:"time"`
		Level  string    `json:"level"`
		Msg    string    `json:"msg"`
		Worker string    `json:"worker,omitempty"`
	}{j.clk.Now(), "INFO", string(line), id}
	b, _ := json.Marshal(rec)
	return append(out, b...)
}
