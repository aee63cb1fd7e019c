package main

import "testing"

func TestParseMinFree(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in    string
		bytes int64
		pct   float64
		bad   bool
	}{
		{"256MiB", 256 << 20, 0, false},
		{"2GiB", 2 << 30, 0, false},
		{"1000", 1000, 0, false},
		{"1%", -1, 1, false},
		{"0.5%", -1, 0.5, false},
		{"0", -1, 0, false},
		{"-1", 0, 0, true},
		{"100%", 0, 0, true},
		{"lots", 0, 0, true},
	} {
		b, p, err := parseMinFree(c.in)
		if (err != nil) != c.bad || (!c.bad && (b != c.bytes || p != c.pct)) {
			t.Errorf("parseMinFree(%q) = %d, %v, %v", c.in, b, p, err)
		}
	}
}
