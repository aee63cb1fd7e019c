// Command qscale runs queue-driven worker fleets: an SQS-compatible queue
// server, a worker runtime, an autoscaler, a simulator and a benchmark tool.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand. Each lives in its own cmd_<name>.go file and
// registers itself from init.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string) error
}

var commands = map[string]command{}

func register(c command) { commands[c.name] = c }

// usageError is a mistake on the command line: exit code 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage()
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(os.Stderr, "qscale: unknown command %q\n\n", args[0])
		printUsage()
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := c.run(ctx, args[1:])
	var ue usageError
	var ec exitCoder
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(os.Stderr, "qscale %s: %s\n", c.name, ue.msg)
		return 2
	case errors.As(err, &ec):
		if msg := err.Error(); msg != "" {
			fmt.Fprintf(os.Stderr, "qscale %s: %s\n", c.name, msg)
		}
		return ec.ExitCode()
	default:
		fmt.Fprintf(os.Stderr, "qscale %s: %v\n", c.name, err)
		return 1
	}
}

// exitCoder is an error that chooses its own exit code.
type exitCoder interface {
	error
	ExitCode() int
}

func printUsage() {
	fmt.Fprintln(os.Stderr, "usage: qscale <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(os.Stderr, "\nRun 'qscale <command> -h' for a command's flags.")
}
