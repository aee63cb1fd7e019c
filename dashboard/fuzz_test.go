package dashboard

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
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
