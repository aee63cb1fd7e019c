// Command qscale runs queue-driven worker fleets: an SQS-compatible queue
// server, a worker runtime, an autoscaler, a simulator and a benchmark tool.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
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

// Exit codes, the same for every command (README.md, "Exit codes").
const (
	exitOK       = 0 // done, or stopped gracefully by a signal
	exitFailure  = 1 // it failed; the last line on stderr says why and what to do
	exitUsage    = 2 // a mistake on the command line
	exitReleased = 3 // qscale worker: the grace period ended; unfinished messages were released
	exitQuit     = 4 // a second signal stopped it at once (qscale up, qscale worker)
)

// usageError is a mistake on the command line: exit code 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// exitCoder is an error that chooses its own exit code.
type exitCoder interface {
	error
	ExitCode() int
}

// exitError is an error with its own exit code.
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }
func (e exitError) ExitCode() int { return e.code }

func main() {
	os.Exit(run(os.Args[1:]))
}

// run finds the command, runs it, and maps its error to an exit code.
func run(args []string) int {
	if len(args) == 0 {
		printUsage(os.Stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help":
		printUsage(os.Stdout)
		return exitOK
	case "help":
		// qscale help CMD [SUB] is qscale CMD [SUB] --help.
		if len(args) == 1 {
			printUsage(os.Stdout)
			return exitOK
		}
		if _, ok := lookup(args[1]); !ok {
			fmt.Fprintf(os.Stderr, "qscale help: unknown command %q; 'qscale help' lists them\n", args[1])
			return exitUsage
		}
		args = append(slices.Clone(args[1:]), "--help")
	case "-version", "--version":
		args = []string{"version"}
	}
	c, ok := lookup(args[0])
	if !ok {
		fmt.Fprintf(os.Stderr, "qscale: unknown command %q\n\n", args[0])
		printUsage(os.Stderr)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := c.run(ctx, args[1:])
	var ue usageError
	var ec exitCoder
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(os.Stderr, "qscale %s: %s\n", c.name, ue.msg)
		return exitUsage
	case errors.As(err, &ec):
		if msg := err.Error(); msg != "" {
			fmt.Fprintf(os.Stderr, "qscale %s: %s\n", c.name, msg)
		}
		return ec.ExitCode()
	default:
		fmt.Fprintf(os.Stderr, "qscale %s: %v\n", c.name, err)
		return exitFailure
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

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: qscale <command> [flags]\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'qscale help <command>' (or 'qscale <command> --help') for a command's flags.")
	fmt.Fprintln(w, "Exit codes: 0 ok, 1 failure, 2 usage, 3 messages released at the end of the grace period, 4 stopped at once by a second signal.")
}
