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
	"syscall"
)

// command is one subcommand; each lives in its own cmd_<name>.go file.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string) error
}

// commands are qscale's subcommands, in the order the usage lists them.
var commands = []command{
	{"up", "run everything on this machine: queue server, autoscaled local workers, dashboard (see docs/up.md)", runUp},
	{"server", "serve the SQS API (durable queues)", runServer},
	{"worker", "run a handler (command, HTTP application) for each message of a queue", runWorkerCommand},
	{"autoscale", "size a worker fleet from its queue's backlog (see docs/autoscaling.md)", runAutoscale},
	{"send", "send a message (or each line of stdin) to a queue", runSend},
	{"messages", "list and peek at a queue's messages without receiving them; redrive a dead-letter queue", runMessages},
	{"load", "generate load on a queue: a steady rate or a burst", runLoad},
	{"bench", "measure an SQS endpoint: throughput, latency, long-poll wake-up", runBench},
	{"sim", "replay a load through the autoscaler on a virtual clock; compare with AWS", runSim},
	{"version", "print the version, commit and Go version qscale was built with", runVersion},
	{"completion", "print a shell completion script: qscale completion bash|zsh|fish", runCompletion},
}

// usageError is a mistake on the command line: exit code 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// exitCoder is an error that chooses its own exit code.
type exitCoder interface {
	error
	ExitCode() int
}

func main() {
	os.Exit(run(os.Args[1:]))
}

// run finds the command, runs it, and maps its error to an exit code.
func run(args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage()
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == "--version" || args[0] == "-version" {
		args = []string{"version"}
	}
	c, ok := lookup(args[0])
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

func lookup(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

func printUsage() {
	fmt.Fprintln(os.Stderr, "usage: qscale <command> [flags]\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(os.Stderr, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(os.Stderr, "\nRun 'qscale <command> -h' for a command's flags.")
}
