package dashboard

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"

	"github.com/qscale/qscale/queue"
)

func FuzzDecodeQueueRequest(f *testing.F) {
	for _, s := range []string{`{"name":"q","attributes":{"VisibilityTimeout":"5"}}`, `{"name":"q.fifo","attributes":{"FifoQueue":"true"}}`,
		`{"attributes":{"RedrivePolicy":""}}`, `{"name":"bad name"}`, `{"attributes":{"Policy":"x"}}`, `{}`, `null`, `[]`,
		`{"name":"q"}{}`, `{"name":"q","x":1}`, `{"attributes":{"VisibilityTimeout":5}}`} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, in string, create bool) {
		req, err := decodeQueueRequest(strings.NewReader(in), create)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if create && !queue.ValidQueueName(req.Name) || !create && (req.Name != "" || len(req.Attributes) == 0) {
			t.Fatalf("accepted %+v (create %v) from %q", req, create, in)
		}
		for k := range req.Attributes {
			if !editableAttributes[k] || k == "FifoQueue" && !create {
				t.Fatalf("accepted attribute %q from %q", k, in)
			}
		}
		b, _ := json.Marshal(req)
		again, err := decodeQueueRequest(strings.NewReader(string(b)), create)
		if err != nil || again.Name != req.Name || !maps.Equal(again.Attributes, req.Attributes) {
			t.Fatalf("round trip of %q: %+v, %v", in, again, err)
		}
	})
}

func FuzzDecodeRedrive(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"destination":"jobs"}`, `{"destination":"a b"}`, `{"x":1}`, `null`, `{}{}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		req, err := decodeRedrive(strings.NewReader(in))
		if err != nil {
			return
		}
		if req.Destination != "" && !queue.ValidQueueName(req.Destination) {
			t.Fatalf("accepted destination %q", req.Destination)
		}
	})
}
