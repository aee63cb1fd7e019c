package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// runChild runs qscale's run with args in a child process (the test binary
// as qscale, see TestMainProcess) and returns its stdout, stderr and exit
// code.
func runChild(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestMainProcess$")
	cmd.Env = append(os.Environ(), "QSCALE_TEST_RUN="+strings.Join(args, " "))
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("qscale %s: %v", strings.Join(args, " "), err)
	}
	return o.String(), e.String(), code
}

// groupTitle is a group of flags in a help: "Queue:" alone on its line.
var groupTitle = regexp.MustCompile(`(?m)^[A-Z][a-z ]+:$`)

// Every command's help has the same shape: on stdout, exit 0, a usage
// line, flags grouped under titles and written --name, one default each;
// qscale help CMD prints the very same text.
func TestHelpStyle(t *testing.T) {
	t.Parallel()
	names := []string{"server backup"}
	for _, c := range commands {
		names = append(names, c.name)
	}
	for _, name := range names {
		t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			t.Parallel()
			args := strings.Fields(name)
			out, errOut, code := runChild(t, append(args, "--help")...)
			if code != 0 || errOut != "" {
				t.Fatalf("qscale %s --help: exit %d, stderr %q", name, code, errOut)
			}
			if !strings.HasPrefix(out, "usage: qscale "+name) {
				t.Errorf("qscale %s --help does not start with its usage line:\n%s", name, out)
			}
			short, _, code := runChild(t, append(args, "-h")...)
			if code != 0 || short != out {
				t.Errorf("qscale %s -h (exit %d) differs from --help:\n%s", name, code, short)
			}
			viaHelp, _, code := runChild(t, append([]string{"help"}, args...)...)
			if code != 0 || viaHelp != out {
				t.Errorf("qscale help %s (exit %d) differs from qscale %s --help:\n%s", name, code, name, viaHelp)
			}
			if name == "completion" || name == "version" {
				return
			}
			if !groupTitle.MatchString(out) {
				t.Errorf("qscale %s --help has no titled group of flags:\n%s", name, out)
			}
			flags := flagLine.FindAllStringIndex(out, -1)
			if len(flags) == 0 {
				t.Fatalf("qscale %s --help lists no --flag:\n%s", name, out)
			}
			if m := regexp.MustCompile(`(?m)^\s+-[a-z]`).FindString(out); m != "" {
				t.Errorf("qscale %s --help writes a flag with one dash: %q", name, m)
			}
			for i, f := range flags {
				end := len(out)
				if i+1 < len(flags) {
					end = flags[i+1][0]
				}
				entry := out[f[0]:end]
				if blank := strings.Index(entry, "\n\n"); blank >= 0 {
					entry = entry[:blank]
				}
				if n := strings.Count(entry, "(default"); n > 1 {
					t.Errorf("qscale %s --help gives %d defaults for one flag:\n%s", name, n, entry)
				}
			}
		})
	}
}

// The top-level help goes to stdout for help, -h and --help; an unknown
// command is a usage error on stderr.
func TestTopLevelHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		out, errOut, code := runChild(t, args...)
		if code != 0 || errOut != "" || !strings.Contains(out, "usage: qscale <command>") || !strings.Contains(out, "Exit codes:") {
			t.Errorf("qscale %s: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
	for _, args := range [][]string{{"nosuch"}, {"help", "nosuch"}} {
		out, errOut, code := runChild(t, args...)
		if code != exitUsage || out != "" || errOut == "" {
			t.Errorf("qscale %s: exit %d, stdout %q, stderr %q; want exit 2 and a message on stderr", args, code, out, errOut)
		}
	}
}

// A mistake on the command line names the flag as the help does and
// points at the help.
func TestFlagErrorsSayDoubleDash(t *testing.T) {
	t.Parallel()
	_, errOut, code := runChild(t, "worker", "--bogus")
	if code != exitUsage || !strings.Contains(errOut, "unknown flag --bogus") || !strings.Contains(errOut, "qscale worker --help") {
		t.Errorf("qscale worker --bogus: exit %d, stderr %q", code, errOut)
	}
	_, errOut, code = runChild(t, "up", "--in-memory", "--log-format", "xml")
	if code != exitUsage || !strings.Contains(errOut, "--log-format") {
		t.Errorf("qscale up --log-format xml: exit %d, stderr %q", code, errOut)
	}
}

// The exit codes README.md documents, from the real binary: 0 for help and
// success, 2 for a mistake on the command line (1 and 4 are checked where
// their failures are made: TestWorkerExplainsAnUnreachableQueue,
// TestUpSecondInterrupt).
func TestExitCodesOfTheBinary(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"version"}, exitOK},
		{[]string{"help", "up"}, exitOK},
		{[]string{"worker", "--help"}, exitOK},
		{[]string{"nosuch"}, exitUsage},
		{[]string{"up", "--bogus"}, exitUsage},
		{[]string{"server", "--log-format", "xml"}, exitUsage},
		{[]string{"worker", "--queue-url", "http://127.0.0.1:1/0/q"}, exitUsage}, // no handler
		{[]string{"send"}, exitUsage},
	} {
		if _, code := qscaleRun(t, nil, tc.args...); code != tc.want {
			t.Errorf("qscale %s: exit %d, want %d", strings.Join(tc.args, " "), code, tc.want)
		}
	}
}
