package worker

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/qscale/qscale/internal/lifeline"
	"github.com/qscale/qscale/worker/workerstatus"
)

// CommandOptions configures Command.
type CommandOptions struct {
	// Env is added to the worker's own environment for every run.
	Env []string
	// Dir is the working directory; the worker's if empty.
	Dir string
	// Stdout and Stderr receive the command's output; the worker's own
	// stdout and stderr if nil.
	Stdout, Stderr io.Writer
	// KillDelay is how long a cancelled command has between SIGTERM and
	// SIGKILL (default 5 s).
	KillDelay time.Duration
	// QueueURL is passed as QSCALE_QUEUE_URL.
	QueueURL string
}

// ExitError is the error of a command that did not exit 0.
type ExitError struct {
	Code   int    // exit code, or -1 if killed by a signal
	Signal string // the signal, if killed by one
	// Stderr is the end of what the command wrote to its standard error
	// (at most workerstatus.MaxStderr bytes); the status document reports
	// it with the failure whether or not the output itself is shown.
	Stderr string
}

func (e *ExitError) Error() string {
	if e.Signal != "" {
		return "handler command killed by " + e.Signal
	}
	return "handler command exited " + strconv.Itoa(e.Code)
}

// Command returns a Handler that runs argv once per message: the body on
// stdin, the message's id, receive count and attributes in the environment
// (see MessageEnv). Exit status 0 means done. The command runs in its own
// process group; when the handler's context ends (timeout, stop) the group
// gets SIGTERM, then SIGKILL after KillDelay. Should the worker's process
// die without stopping it, the group is stopped too (SIGTERM, then SIGKILL:
// see docs/worker.md, "When the worker is killed").
func Command(argv []string, opts CommandOptions) Handler {
	if opts.KillDelay == 0 {
		opts.KillDelay = 5 * time.Second
	}
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	base := append(os.Environ(), opts.Env...)
	if opts.QueueURL != "" {
		base = append(base, "QSCALE_QUEUE_URL="+opts.QueueURL)
	}
	return func(ctx context.Context, m *Message) error {
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Dir = opts.Dir
		cmd.Stdin = strings.NewReader(m.Body)
		cmd.Stdout = opts.Stdout
		tail := &tailBuffer{max: workerstatus.MaxStderr}
		cmd.Stderr = io.MultiWriter(opts.Stderr, tail)
		cmd.Env = append(base[:len(base):len(base)], MessageEnv(m)...)
		cmd.Cancel = func() error {
			return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		}
		cmd.WaitDelay = opts.KillDelay
		// Its own process group, stopped with the worker should the
		// worker die first (kill -9 included): see internal/lifeline.
		err := lifeline.Start(cmd, syscall.SIGTERM)
		if err == nil {
			release := lifeline.Watch(cmd.Process.Pid)
			err = cmd.Wait()
			// Whatever the command left behind in its group goes too.
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			release()
		}
		if err == nil {
			return nil
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			xe := &ExitError{Code: ee.ExitCode(), Stderr: tail.String()}
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				xe.Signal = ws.Signal().String()
			}
			if ctx.Err() != nil {
				return fmt.Errorf("%w (%w)", xe, context.Cause(ctx))
			}
			return xe
		}
		return fmt.Errorf("handler command: %w", err)
	}
}

// tailBuffer keeps the last bytes written to it: at least twice max (so
// that Tail finds where a line starts), at most four times. exec.Cmd's copying goroutine is its only writer and String
// is called after Wait, so it needs no lock.
type tailBuffer struct {
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > 4*t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-2*t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return workerstatus.Tail(t.buf, t.max) }

// MessageEnv is the environment a handler command gets for m:
//
//	QSCALE_MESSAGE_ID            the MessageId
//	QSCALE_RECEIPT_HANDLE        the receipt handle of this delivery
//	QSCALE_RECEIVE_COUNT         1 on the first delivery
//	QSCALE_ATTR_<Name>           each system attribute, e.g. QSCALE_ATTR_SentTimestamp
//	QSCALE_MSGATTR_<Name>        each message attribute's value (binary ones base64);
//	                             characters other than A-Z a-z 0-9 _ in Name become _
//	QSCALE_ATTRIBUTES            the system attributes as a JSON object
//	QSCALE_MESSAGE_ATTRIBUTES    the message attributes as a JSON object of
//	                             {"DataType":..., "StringValue"|"BinaryValue":...}
func MessageEnv(m *Message) []string {
	env := make([]string, 0, 5+len(m.Attributes)+len(m.MessageAttributes))
	env = append(env,
		"QSCALE_MESSAGE_ID="+m.ID,
		"QSCALE_RECEIPT_HANDLE="+m.ReceiptHandle,
		"QSCALE_RECEIVE_COUNT="+strconv.Itoa(m.ReceiveCount),
	)
	for k, v := range m.Attributes {
		env = append(env, "QSCALE_ATTR_"+envName(k)+"="+v)
	}
	for k, a := range m.MessageAttributes {
		v := a.StringValue
		if a.BinaryValue != nil {
			v = base64.StdEncoding.EncodeToString(a.BinaryValue)
		}
		env = append(env, "QSCALE_MSGATTR_"+envName(k)+"="+v)
	}
	if len(m.Attributes) > 0 {
		b, _ := json.Marshal(m.Attributes)
		env = append(env, "QSCALE_ATTRIBUTES="+string(b))
	}
	if len(m.MessageAttributes) > 0 {
		b, _ := json.Marshal(m.MessageAttributes)
		env = append(env, "QSCALE_MESSAGE_ATTRIBUTES="+string(b))
	}
	return env
}

func envName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
}

// ErrNoCommand is wrapped by LookCommand's error for a handler command that
// does not exist or cannot be run.
var ErrNoCommand = errors.New("handler command not found")

// LookCommand finds the handler command name as a worker whose working
// directory is dir would run it: a name with a slash is a path (relative
// to dir), any other name is searched in $PATH. It returns the path, or an
// error wrapping ErrNoCommand that says what is missing or not executable.
func LookCommand(name, dir string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("%w: the command is empty", ErrNoCommand)
	}
	if !strings.Contains(name, "/") {
		p, err := exec.LookPath(name)
		if err != nil {
			return "", fmt.Errorf("%w: %q is not in $PATH", ErrNoCommand, name)
		}
		return p, nil
	}
	p := name
	if !filepath.IsAbs(p) && dir != "" {
		p = filepath.Join(dir, p)
	}
	st, err := os.Stat(p)
	switch {
	case err != nil:
		return "", fmt.Errorf("%w: %s: %w", ErrNoCommand, p, err)
	case st.IsDir():
		return "", fmt.Errorf("%w: %s is a directory", ErrNoCommand, p)
	case st.Mode().Perm()&0o111 == 0:
		return "", fmt.Errorf("%w: %s is not executable (chmod +x %s)", ErrNoCommand, p, p)
	}
	return p, nil
}
