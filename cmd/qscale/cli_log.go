package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// logFlags are --log-format and --log-level, which every long-running
// subcommand (up, server, worker, autoscale) takes; logger builds the one
// kind of log they all write to stderr.
type logFlags struct {
	format string
	level  string
}

// define adds the flags to c, in an "Output" group, with the command's
// default level.
func (l *logFlags) define(c *cliFlags, defaultLevel, levelHelp string) {
	c.StringVar(&l.format, "log-format", "text", "log lines as text (key=value) or json (one object a line)")
	c.StringVar(&l.level, "log-level", defaultLevel, levelHelp)
}

// logger builds the log the flags ask for, writing to w; a bad value is a
// usage error.
func (l *logFlags) logger(w io.Writer) (*slog.Logger, error) {
	h, err := newLogHandler(w, l.format, l.level)
	if err != nil {
		return nil, err
	}
	return slog.New(h), nil
}

// newLogHandler is the one place qscale's commands build a log handler.
func newLogHandler(w io.Writer, format, level string) (slog.Handler, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, usagef("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "text":
		return slog.NewTextHandler(w, opts), nil
	case "json":
		return slog.NewJSONHandler(w, opts), nil
	}
	return nil, usagef("--log-format %q: want text or json", format)
}

// onceHandler says a failure that repeats once: the first record at warn or
// above that carries an "error" attribute is written as one short line
// (its message and error, noting that it is said once), the whole record
// at debug; the same message with the same error is then written at
// debug while it persists; and the first record after it without that
// error says, once, at info, that it recovered. qscale autoscale's
// controller fails every tick while its queue is missing: the user reads
// that once, with what to do, and once when it is fixed.
type onceHandler struct {
	inner slog.Handler
	st    *onceState // shared by the handlers WithAttrs and WithGroup derive
}

type onceState struct {
	mu      sync.Mutex // guards failing, since
	failing string     // "msg\x00error" of the failure said, "" when none
	since   time.Time
}

func newOnceHandler(inner slog.Handler) *onceHandler {
	return &onceHandler{inner: inner, st: &onceState{}}
}

// Enabled lets every record through while a failure is outstanding, so
// that the first one without it (a hold, at debug) can say it recovered.
func (h *onceHandler) Enabled(ctx context.Context, l slog.Level) bool {
	if h.inner.Enabled(ctx, l) {
		return true
	}
	h.st.mu.Lock()
	defer h.st.mu.Unlock()
	return h.st.failing != ""
}

func (h *onceHandler) Handle(ctx context.Context, r slog.Record) error {
	errText := ""
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "error" {
			errText = a.Value.String()
			return false
		}
		return true
	})
	key := r.Message + "\x00" + errText
	h.st.mu.Lock()
	failing, since := h.st.failing, h.st.since
	switch {
	case errText != "" && r.Level >= slog.LevelWarn && key == failing:
		h.st.mu.Unlock()
		r.Level = slog.LevelDebug // said already
		if !h.inner.Enabled(ctx, r.Level) {
			return nil
		}
		return h.inner.Handle(ctx, r)
	case errText != "" && r.Level >= slog.LevelWarn:
		h.st.failing, h.st.since = key, r.Time
		h.st.mu.Unlock()
		// One short line: the error (which says what to do) and how to
		// see more; the whole record (the controller's observation and
		// policies) follows at debug.
		short := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
		short.AddAttrs(slog.String("error", errText),
			slog.String("repeats", "said once; it and the full record are logged at debug while it lasts"))
		if err := h.inner.Handle(ctx, short); err != nil {
			return err
		}
		r.Level = slog.LevelDebug
		if !h.inner.Enabled(ctx, r.Level) {
			return nil
		}
		return h.inner.Handle(ctx, r)
	case failing != "" && errText == "" && sameFamily(failing, r.Message):
		h.st.failing = ""
		h.st.mu.Unlock()
		msg, prev, _ := strings.Cut(failing, "\x00")
		rec := slog.NewRecord(r.Time, slog.LevelInfo, "recovered: "+msg+" no longer happens", r.PC)
		rec.AddAttrs(slog.String("error", prev), slog.Duration("lasted", r.Time.Sub(since).Round(time.Second)))
		if h.inner.Enabled(ctx, slog.LevelInfo) {
			if err := h.inner.Handle(ctx, rec); err != nil {
				return err
			}
		}
	default:
		h.st.mu.Unlock()
	}
	if !h.inner.Enabled(ctx, r.Level) {
		return nil
	}
	return h.inner.Handle(ctx, r)
}

func (h *onceHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &onceHandler{inner: h.inner.WithAttrs(as), st: h.st}
}

func (h *onceHandler) WithGroup(name string) slog.Handler {
	return &onceHandler{inner: h.inner.WithGroup(name), st: h.st}
}

// sameFamily reports whether a record's message is of the same part as the
// failure's ("autoscale hold" and "autoscale error"): the first word.
func sameFamily(failing, msg string) bool {
	f, _, _ := strings.Cut(failing, " ")
	m, _, _ := strings.Cut(msg, " ")
	return f == m
}
