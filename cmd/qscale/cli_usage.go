package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

// cliFlags is a subcommand's flag set in qscale's one help style: help on
// stdout for -h and --help (and for qscale help CMD), flags written
// --name, grouped under titles, each with one default. Every subcommand
// builds its flags with newFlags, opens a group before its flags with
// group, and parses with parse.
type cliFlags struct {
	*flag.FlagSet
	cmd   string   // "up", "server backup"
	usage []string // usage lines, without "usage: "
	about string   // what the command does, a paragraph or two

	groups []flagGroup
	seen   map[string]bool // flags already placed in a group
	out    io.Writer       // where help goes: os.Stdout
}

// flagGroup is a titled run of flags, in the order they were defined.
type flagGroup struct {
	title string
	names []string
}

// newFlags starts a subcommand's flag set. usage is its synopsis lines
// ("qscale up [flags]"), about what it does.
func newFlags(cmd, about string, usage ...string) *cliFlags {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	// The flag package prints nothing: parse reports errors, printHelp
	// prints the help.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &cliFlags{FlagSet: fs, cmd: cmd, usage: usage, about: about, seen: map[string]bool{}, out: os.Stdout}
}

// group starts a titled group: the flags defined from now on belong to it.
// Flags defined before the first group are listed under "Flags".
func (c *cliFlags) group(title string) {
	c.close()
	c.groups = append(c.groups, flagGroup{title: title})
}

// close places the flags defined since the last call in the last group.
func (c *cliFlags) close() {
	var fresh []string
	c.VisitAll(func(f *flag.Flag) {
		if !c.seen[f.Name] {
			fresh = append(fresh, f.Name)
			c.seen[f.Name] = true
		}
	})
	if len(fresh) == 0 {
		return
	}
	if len(c.groups) == 0 {
		c.groups = append(c.groups, flagGroup{title: "Flags"})
	}
	last := &c.groups[len(c.groups)-1]
	last.names = append(last.names, fresh...)
}

// parse parses args. On -h or --help it prints the help on stdout and
// returns flag.ErrHelp (exit 0); a mistake becomes a usage error (exit 2)
// that names the flag as --name and points at the help.
func (c *cliFlags) parse(args []string) error {
	err := c.Parse(args)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		c.printHelp(c.out)
		return flag.ErrHelp
	}
	msg := strings.Replace(err.Error(), "flag provided but not defined: ", "unknown flag ", 1)
	return usagef("%s (see 'qscale %s --help')", dashDash(msg), c.cmd)
}

// singleDash is a flag named with one dash in the flag package's errors.
var singleDash = regexp.MustCompile(`(^|[\s:])-([a-z][a-z0-9-]*)`)

// dashDash rewrites the flag package's "-name" as "--name", the way the
// help and the docs write flags.
func dashDash(s string) string { return singleDash.ReplaceAllString(s, "$1--$2") }

// printHelp writes the usage lines, the description and the flags by group.
func (c *cliFlags) printHelp(w io.Writer) {
	c.close()
	for i, u := range c.usage {
		if i == 0 {
			fmt.Fprintf(w, "usage: %s\n", u)
		} else {
			fmt.Fprintf(w, "       %s\n", u)
		}
	}
	if c.about != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimRight(c.about, "\n"))
	}
	type line struct{ left, right string }
	var lines [][]line
	width := 0
	for _, g := range c.groups {
		var ls []line
		for _, name := range g.names {
			f := c.Lookup(name)
			left := "--" + name
			if v := valueName(f); v != "" {
				left += " " + v
			}
			ls = append(ls, line{left, describe(f)})
			if len(left) <= maxFlagColumn {
				width = max(width, len(left))
			}
		}
		lines = append(lines, ls)
	}
	for i, g := range c.groups {
		if len(g.names) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s:\n", g.title)
		for _, l := range lines[i] {
			writeFlagLine(w, l.left, l.right, width)
		}
	}
}

// maxFlagColumn is the widest flag column; a wider flag has its
// description on the next line.
const maxFlagColumn = 28

// helpWidth is where descriptions wrap.
const helpWidth = 100

func writeFlagLine(w io.Writer, left, right string, width int) {
	indent := 2 + width + 3
	var b strings.Builder
	b.WriteString("  ")
	b.WriteString(left)
	col := 2 + len(left)
	if len(left) > width {
		b.WriteString("\n")
		col = 0
	}
	for i, word := range strings.Fields(right) {
		switch {
		case col == 0 || i == 0:
			b.WriteString(strings.Repeat(" ", indent-col))
			col = indent
		case col+1+len(word) > helpWidth:
			b.WriteString("\n" + strings.Repeat(" ", indent))
			col = indent
		default:
			b.WriteString(" ")
			col++
		}
		b.WriteString(word)
		col += len(word)
	}
	b.WriteString("\n")
	io.WriteString(w, b.String())
}

// valueName is what a flag's value is called in the help: the usage's
// `quoted` name, else its type in capitals; "" for a boolean flag.
func valueName(f *flag.Flag) string {
	if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		return ""
	}
	name, _ := flag.UnquoteUsage(f)
	switch {
	case name == "string":
		name = stringValueName(f.Name)
	case name == "":
		name = "value"
	}
	return strings.ToUpper(name)
}

// stringValueName names a string flag's value from the flag's name:
// --config FILE, --listen ADDR, --queue-url URL.
func stringValueName(flagName string) string {
	switch {
	case strings.HasSuffix(flagName, "-file") || flagName == "config" || flagName == "queues" ||
		strings.HasPrefix(flagName, "tls-"):
		return "file"
	case strings.HasSuffix(flagName, "dir"):
		return "dir"
	case strings.HasSuffix(flagName, "listen") || strings.HasSuffix(flagName, "-addr") || flagName == "console":
		return "addr"
	case strings.HasSuffix(flagName, "url") || flagName == "http" || flagName == "http-ready" || flagName == "admin":
		return "url"
	case strings.HasSuffix(flagName, "token"):
		return "token"
	case flagName == "log-format":
		return "text|json"
	case flagName == "log-level":
		return "level"
	case flagName == "region":
		return "region"
	}
	return "string"
}

// describe is a flag's usage with its default, said once: a usage that
// names its default itself ("(default: ...)") gets nothing more.
func describe(f *flag.Flag) string {
	_, usage := flag.UnquoteUsage(f)
	if strings.Contains(usage, "(default") || zeroDefault(f) {
		return usage
	}
	def := f.DefValue
	if _, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok && strings.ContainsAny(def, " \t") {
		def = fmt.Sprintf("%q", def)
	}
	return usage + " (default " + def + ")"
}

// zeroDefault reports whether a flag's default is its type's zero value,
// which the help does not print.
func zeroDefault(f *flag.Flag) bool {
	switch f.DefValue {
	case "", "0", "0s", "false", "[]", "-1":
		return true
	}
	return false
}
