package bench

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func checkAppendString(t *testing.T, s string) {
	b := appendString([]byte("x"), s)
	if b[0] != 'x' {
		t.Fatalf("appendString overwrote what was before")
	}
	var got string
	if err := json.Unmarshal(b[1:], &got); err != nil {
		t.Fatalf("appendString(%q) = %s: not JSON: %v", s, b[1:], err)
	}
	want := strings.ToValidUTF8(s, "\uFFFD")
	if !utf8.ValidString(s) {
		// encoding/json replaces each invalid byte; so does appendString.
		w, _ := json.Marshal(s)
		json.Unmarshal(w, &want)
	}
	if got != want {
		t.Errorf("appendString(%q) decodes to %q, want %q", s, got, want)
	}
}

func TestAppendString(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "plain", `"\`, "\x00\x01\x1f\x7f", "a\nb\rc\td", "ü日🎉", "\xff\xfeok\xc3", "\u2028"} {
		checkAppendString(t, s)
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("a\"b\\c\x00\xff日")
	f.Fuzz(checkAppendString)
}
