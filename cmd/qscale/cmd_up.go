package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/qscale/qscale/config"
	"github.com/qscale/qscale/up"
)

func runUp(ctx context.Context, args []string) error {
	fs := newFlags("up", `Runs everything on this machine: the queue server, a fleet of local workers that
the autoscaler sizes from the queue's backlog, and the dashboard. Without
--config it runs the quickstart: queue demo, 0-10 demo workers. The first
Ctrl-C (or SIGTERM) stops gracefully: workers finish what they hold; a second
stops at once (exit 4). See docs/up.md.`, "qscale up [--config qscale.yaml] [flags]")
	fs.group("Configuration")
	cfgPath := fs.String("config", "", "configuration file, YAML or JSON (default: the quickstart: queue demo, 0-10 demo workers)")
	check := fs.Bool("check", false, "validate the configuration and exit")
	fs.group("Queue server")
	inMemory := fs.Bool("in-memory", false, "keep nothing on disk (overrides server.inMemory)")
	dataDir := fs.String("data-dir", "", "directory that keeps the queues (overrides server.dataDir) (default: ./qscale-data)")
	listen := fs.String("listen", "", "SQS endpoint address (overrides server.listen) (default: 127.0.0.1:9324)")
	fs.group("Dashboard")
	console := fs.String("console", "", "dashboard, producer endpoint and /metrics address, or off (overrides console.listen) (default: 127.0.0.1:9325)")
	fs.group("Output")
	workerLogs := fs.Bool("worker-logs", false, "show the workers' own log lines and their handlers' output")
	addrFile := fs.String("addr-file", "", `once everything runs, write {"sqs": URL, "console": URL} to this file`)
	var lf logFlags
	lf.define(fs, "warn", "structured log level on stderr: debug, info, warn, error")
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	logger, err := lf.logger(os.Stderr)
	if err != nil {
		return err
	}
	cfg, err := up.LoadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if *inMemory {
		cfg.Server.InMemory = true
	}
	if *dataDir != "" {
		cfg.Server.DataDir = *dataDir
	}
	if *listen != "" {
		cfg.Server.Listen = *listen
	}
	if *console != "" {
		cfg.Console.Listen = *console
	}
	if err := cfg.Validate(config.ForUp); err != nil {
		return err
	}
	if *check {
		cfgDir := ""
		if *cfgPath != "" {
			cfgDir = filepath.Dir(*cfgPath)
		}
		if err := up.CheckHandlers(cfg, cfgDir); err != nil {
			return err
		}
		for _, f := range cfg.Fleets {
			fmt.Printf("valid: fleet %s: %s %s, %d..%d workers (%s), %d policies\n",
				f.Name, queueWord(f), f.QueueLabel(), f.MinCapacity, f.MaxCapacity, f.Kind(), len(f.Policies))
		}
		return nil
	}
	keys, err := loadAccessKeys(nil, os.Getenv("QSCALE_ACCESS_KEYS"), cfg.Server.AccessKeysFile)
	if err != nil {
		return err
	}
	var wout io.Writer
	if *workerLogs {
		wout = os.Stderr
	}
	s, err := up.Start(ctx, up.Options{
		Config: cfg, Keys: keys,
		Logger:       logger,
		Out:          os.Stdout,
		WorkerOutput: wout,
		LogFormat:    lf.format,
	})
	if err != nil {
		dir := cfg.Server.DataDir
		if cfg.Server.InMemory {
			dir = ""
		}
		return explainStart(err, dir, listenFlag{cfg.Server.Listen, "--listen"}, listenFlag{cfg.Console.Listen, "--console"})
	}
	printBanner(os.Stdout, s, cfg, *cfgPath == "", len(keys) > 0)
	if *addrFile != "" {
		b, _ := json.Marshal(map[string]string{"sqs": s.SQSURL(), "console": s.ConsoleURL()})
		// Write then rename, so a reader never sees half a file.
		tmp := *addrFile + ".tmp"
		err := os.WriteFile(tmp, b, 0o644)
		if err == nil {
			err = os.Rename(tmp, *addrFile)
		}
		if err != nil {
			sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_ = s.Stop(sctx)
			return fmt.Errorf("write address file: %w", err)
		}
	}
	<-ctx.Done()
	grace := time.Duration(0)
	for _, f := range cfg.Fleets {
		grace = max(grace, f.StopGrace())
	}
	return stopUp(s, grace)
}

// queueWord is "queue", or "queues (sum)" for a fleet of several.
func queueWord(f config.Fleet) string {
	if len(f.QueueList()) > 1 {
		return "queues (" + f.QueueCombine + ")"
	}
	return "queue"
}

func printBanner(w io.Writer, s *up.System, cfg *config.Config, quickstart, signed bool) {
	storage := "data in " + cfg.Server.DataDir
	if cfg.Server.InMemory {
		storage = "in memory"
	}
	fmt.Fprintf(w, "qscale up\n")
	fmt.Fprintf(w, "  SQS endpoint   %s (%s)\n", s.SQSURL(), storage)
	if !signed {
		fmt.Fprintf(w, "                 no access keys: any signature is accepted (local use only)\n")
	}
	several := len(cfg.Fleets) > 1
	for _, f := range cfg.Fleets {
		workers := "local processes"
		if f.Kind() == config.KindMemory {
			workers = "in memory (runs nothing)"
		}
		if several {
			fmt.Fprintf(w, "  fleet          %s\n", f.Name)
		}
		for _, name := range f.QueueNames() {
			fmt.Fprintf(w, "  queue          %s\n", s.QueueURL(name))
		}
		fmt.Fprintf(w, "  workers        %d..%d %s\n", f.MinCapacity, f.MaxCapacity, workers)
	}
	f := cfg.Fleets[0]
	if u := s.ConsoleURL(); u != "" {
		fmt.Fprintf(w, "  dashboard      %s/\n", u)
		if several {
			fmt.Fprintf(w, "  fleets         %s/fleets/ (a dashboard each)\n", u)
		}
		fmt.Fprintf(w, "  metrics        %s/metrics\n", u)
		fmt.Fprintf(w, "  send           curl '%s/queue/%s?message=hello'\n", u, f.QueueNames()[0])
	}
	if quickstart {
		fmt.Fprintf(w, "\nTry a burst: qscale load --queue %s --burst 10000 --endpoint-url %s\n", f.Queue.Name, s.SQSURL())
		fmt.Fprintf(w, "The fleet grows within seconds, drains the queue and shrinks back to zero.\n")
	}
	fmt.Fprintln(w)
}
