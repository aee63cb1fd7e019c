package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// When QSCALE_TEST_RUN is set, the test binary is qscale: it runs the
// command line in that variable and exits. The completion tests use it to
// read each command's -h output without touching this process's stderr.
func TestMainProcess(t *testing.T) {
	args := os.Getenv("QSCALE_TEST_RUN")
	if args == "" {
		t.Skip("runs only as the child of another test")
	}
	os.Exit(run(strings.Fields(args)))
}

// flagLine is a flag in a command's help: "  --name" alone (a bool
// flag), or followed by the value's name in capitals, then its
// description.
var flagLine = regexp.MustCompile(`(?m)^  --([a-z0-9-]+)( [A-Z][A-Z0-9_=.|]*)?(?:\s|$)`)

// helpFlags runs "qscale <name> -h" and returns the flags it lists, in
// commandFlags' notation (a trailing "=" for a flag that takes a value).
func helpFlags(t *testing.T, name string) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestMainProcess$")
	cmd.Env = append(os.Environ(), "QSCALE_TEST_RUN="+name+" -h")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("qscale %s -h: %v\n%s", name, err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("qscale %s -h wrote to stderr; help goes to stdout:\n%s", name, stderr.String())
	}
	var flags []string
	for _, m := range flagLine.FindAllStringSubmatch(stdout.String(), -1) {
		f := m[1]
		if m[2] != "" {
			f += "="
		}
		flags = append(flags, f)
	}
	sort.Strings(flags)
	return flags
}

// The completion scripts' flag lists are exactly the flags each command's
// flag set defines, for every command in the table and no other.
func TestCompletionFlagsMatchCommands(t *testing.T) {
	t.Parallel()
	for _, c := range commands {
		if _, ok := commandFlags[c.name]; !ok {
			t.Errorf("commandFlags has no entry for command %q", c.name)
		}
	}
	for name := range commandFlags {
		if _, ok := lookup(name); !ok {
			t.Errorf("commandFlags lists %q, which is not a command", name)
		}
	}
	sawFlags := false
	for _, c := range commands {
		if c.name == "completion" {
			continue // its usage is the shells, not flags
		}
		got := helpFlags(t, c.name)
		want := slices.Clone(commandFlags[c.name])
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("qscale %s -h lists the flags\n  %q\nbut commandFlags in cmd_completion.go has\n  %q\n(a trailing = marks a flag that takes a value)", c.name, got, want)
		}
		sawFlags = sawFlags || len(got) > 0
	}
	if !sawFlags {
		t.Error("no command listed a flag: the -h output was not parsed")
	}
}

// qscale completion takes one known shell.
func TestCompletionExitCodes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"completion"}, 2},
		{[]string{"completion", "tcsh"}, 2},
		{[]string{"completion", "bash", "zsh"}, 2},
		{[]string{"completion", "-h"}, 0},
	} {
		if got := run(tc.args); got != tc.want {
			t.Errorf("qscale %q: exit %d, want %d", tc.args, got, tc.want)
		}
	}
}

// complete runs bash's completion of line (the cursor at its end) with the
// script qscale writes, and returns the candidates.
func complete(t *testing.T, script, line string) []string {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal("bash is needed to run the bash completion")
	}
	words := strings.Fields(line)
	if strings.HasSuffix(line, " ") {
		words = append(words, "")
	}
	var quoted []string
	for _, w := range words {
		quoted = append(quoted, "'"+w+"'")
	}
	prog := script + "\nCOMP_WORDS=(" + strings.Join(quoted, " ") + ")\nCOMP_CWORD=" +
		strconv.Itoa(len(words)-1) + "\n_qscale\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
	out, err := exec.Command(bash, "--norc", "--noprofile", "-c", prog).CombinedOutput()
	if err != nil {
		t.Fatalf("bash completion of %q: %v\n%s", line, err, out)
	}
	return strings.Fields(string(out))
}

// The bash script completes commands, each command's flags, and leaves a
// flag's value to the shell.
func TestBashCompletion(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	writeBashCompletion(&buf, commands)
	script := buf.String()
	for _, tc := range []struct {
		line string
		want []string
	}{
		{"qscale se", []string{"send", "server"}},
		{"qscale ver", []string{"version"}},
		{"qscale up --co", []string{"--config", "--console"}},
		{"qscale server --in", []string{"--in-memory", "--insecure-no-auth"}},
		{"qscale send --queue ", nil},
		{"qscale completion ", []string{"bash", "fish", "zsh"}},
		{"qscale help wo", []string{"worker"}},
		{"qscale up --log-f", []string{"--log-format"}},
	} {
		got := complete(t, script, tc.line)
		sort.Strings(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("completing %q: %q, want %q", tc.line, got, tc.want)
		}
	}
}

// The zsh and fish scripts name every command and flag, and parse where
// the shell is installed.
func TestZshAndFishCompletion(t *testing.T) {
	t.Parallel()
	for shell, tc := range map[string]struct {
		write    func(*bytes.Buffer)
		flagForm string // how the script names flag f
	}{
		"zsh":  {func(b *bytes.Buffer) { writeZshCompletion(b, commands) }, "'--%s"},
		"fish": {func(b *bytes.Buffer) { writeFishCompletion(b, commands) }, "-l %s "},
	} {
		var buf bytes.Buffer
		tc.write(&buf)
		script := buf.String()
		for _, c := range commands {
			if !strings.Contains(script, c.name) {
				t.Errorf("%s script lacks command %q", shell, c.name)
			}
			names, _ := flagsOf(c.name)
			for _, f := range names {
				if !strings.Contains(script, fmt.Sprintf(tc.flagForm, f)) {
					t.Errorf("%s script lacks %s's flag --%s", shell, c.name, f)
				}
			}
		}
		path, err := exec.LookPath(shell)
		if err != nil {
			if os.Getenv("CI") == "true" {
				t.Errorf("%s is not installed (scripts/test installs it): its completion script is not checked", shell)
			}
			continue
		}
		if out, err := exec.Command(path, "-n", "-c", script).CombinedOutput(); err != nil {
			t.Errorf("%s -n: %v\n%s", shell, err, out)
		}
		if shell == "fish" {
			file := filepath.Join(t.TempDir(), "qscale.fish")
			if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(path, "--no-config", "-c", "source "+file+"; complete -C 'qscale up --co'; complete -C 'qscale se'").CombinedOutput()
			if err != nil {
				t.Fatalf("fish completion: %v\n%s", err, out)
			}
			for _, want := range []string{"--config\n", "--console\n", "send\tsend a message", "server\tserve the SQS API"} {
				if !strings.Contains(string(out), want) {
					t.Errorf("fish completes 'qscale up --co' and 'qscale se' as\n%s\nwithout %q", out, want)
				}
			}
		}
	}
}
