package main

import "testing"

func TestParseMemoryLimit(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		want memoryLimit
	}{
		{"auto", memoryLimit{}},
		{"off", memoryLimit{off: true}},
		{"900MiB", memoryLimit{bytes: 900 << 20}},
		{"2GiB", memoryLimit{bytes: 2 << 30}},
		{"1048576", memoryLimit{bytes: 1 << 20}},
	} {
		got, err := parseMemoryLimit(c.in)
		if err != nil || got != c.want {
			t.Errorf("parseMemoryLimit(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"0", "10%", "-1MiB", "lots", "1.5GiB"} {
		if _, err := parseMemoryLimit(bad); err == nil {
			t.Errorf("parseMemoryLimit(%q) accepted", bad)
		}
	}
}
