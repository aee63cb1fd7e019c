package main

import (
	"io"
	"log/slog"
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
