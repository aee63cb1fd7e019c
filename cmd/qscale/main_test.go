package main

import "testing"

// main maps what a command returns to the exit code, and every command
// in the table can be found by its name.
func TestRunExitCodes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want int
	}{
		{nil, 2},
		{[]string{"help"}, 0},
		{[]string{"no-such-command"}, 2},
		{[]string{"send", "-h"}, 0},
		{[]string{"send", "--no-such-flag"}, 2},
		{[]string{"send", "hello"}, 2}, // no --queue
		{[]string{"load", "--queue", "q", "--burst", "10", "--size", "0"}, 2},
		{[]string{"bench", "--batch", "11"}, 2},
	} {
		if got := run(tc.args); got != tc.want {
			t.Errorf("qscale %q: exit %d, want %d", tc.args, got, tc.want)
		}
	}
	seen := map[string]bool{}
	for _, c := range commands {
		if c.run == nil || c.summary == "" || seen[c.name] {
			t.Errorf("command %q: run set %v, summary %q, listed before %v", c.name, c.run != nil, c.summary, seen[c.name])
		}
		seen[c.name] = true
		if got, ok := lookup(c.name); !ok || got.name != c.name {
			t.Errorf("lookup(%q) = %q, %v", c.name, got.name, ok)
		}
	}
}
