package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/qscale/qscale/config"
	"github.com/qscale/qscale/queue"
	"github.com/qscale/qscale/server"
	"github.com/qscale/qscale/sqsapi"
)

type serverOptions struct {
	cfg         server.Config
	memLimit    memoryLimit
	keys        []string
	keysFile    string
	addrFile    string
	adminListen string
	adminFile   string
	queuesFile  string
}

// adminTokenEnv is the environment variable that sets the admin token.
const adminTokenEnv = "QSCALE_ADMIN_TOKEN"

func runServer(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "backup" {
		return runServerBackup(ctx, args[1:])
	}
	var o serverOptions
	fs := newFlags("server", `Serves the SQS API (both wire protocols) on --listen, with durable queues in
--data-dir, and an admin listener (/metrics, /healthz, the producer endpoint,
backups) on --admin-listen. 'qscale server backup' copies a running server's
data. See docs/operations.md.`, "qscale server [flags]", "qscale server backup --dir DIR [flags]")
	var lf logFlags
	fs.group("Listening")
	fs.StringVar(&o.cfg.Listen, "listen", "127.0.0.1:9324", "address to serve the SQS API on")
	fs.StringVar(&o.adminListen, "admin-listen", defaultAdminListen, "address of the admin listener: /metrics, /healthz, /readyz, the producer endpoint /queue/NAME, /admin/backup; off: none (default: "+defaultAdminListen+", or a port the system chooses when --listen asks for one with port 0)")
	fs.StringVar(&o.cfg.BaseURL, "base-url", "", "scheme://host:port of queue URLs (default: the Host each client used, once checked); without access keys, its host is also a name clients may use")
	fs.StringVar(&o.cfg.TLSCertFile, "tls-cert", "", "PEM certificate (chain) to serve the SQS API and the admin listener over TLS; needs --tls-key")
	fs.StringVar(&o.cfg.TLSKeyFile, "tls-key", "", "PEM private key of --tls-cert")
	fs.group("Storage")
	fs.StringVar(&o.cfg.DataDir, "data-dir", "./qscale-data", "directory that keeps the queues")
	fs.BoolVar(&o.cfg.InMemory, "in-memory", false, "keep nothing on disk")
	fs.BoolVar(&o.cfg.Repair, "repair", false, "rebuild a damaged data directory from what can be read, log what was lost, keep the damaged files beside it")
	fs.Func("min-free", "free space to keep in the data directory's file system, in bytes (256MiB, 2GiB) or percent (1%); new messages are refused below it; 0 turns it off (default 256MiB)", func(v string) error {
		b, pct, err := parseMinFree(v)
		o.cfg.MinFreeBytes, o.cfg.MinFreePercent = b, pct
		return err
	})
	fs.group("Queues")
	fs.StringVar(&o.cfg.AccountID, "account-id", "000000000000", "account id in queue URLs and ARNs")
	fs.StringVar(&o.cfg.Region, "region", queue.DefaultRegion, "region in queue ARNs")
	fs.StringVar(&o.queuesFile, "queues", "", "YAML file of queues to create, or update, at start (queues: [{name, attributes, tags}])")
	fs.group("Access")
	fs.Func("access-key", "ID:SECRET a client may sign with (repeatable; also $QSCALE_ACCESS_KEYS, comma-separated)", func(s string) error {
		o.keys = append(o.keys, s)
		return nil
	})
	fs.StringVar(&o.keysFile, "access-keys-file", "", "file of access keys, one ID:SECRET per line")
	fs.BoolVar(&o.cfg.InsecureNoAuth, "insecure-no-auth", false, "allow --listen beyond loopback without access keys (anyone who reaches the port can use every queue)")
	fs.StringVar(&o.cfg.AdminToken, "admin-token", "", "bearer token the admin listener asks for on /metrics, /queue/ and /admin/ (default $"+adminTokenEnv+"); required beyond loopback")
	fs.group("Limits")
	fs.IntVar(&o.cfg.MaxConnections, "max-connections", 0, "most client connections open at once; more wait (0: the open-file limit less 512, at most 32768; -1: no cap)")
	fs.DurationVar(&o.cfg.BodyTimeout, "body-timeout", sqsapi.DefaultBodyTimeout, "longest a client may take to send each 64 KiB of a request body")
	fs.Int64Var(&o.cfg.MaxBodyMemory, "max-body-memory", sqsapi.DefaultMaxBodyMemory, "bytes all request bodies may hold at once; beyond, requests get ServiceUnavailable")
	fs.Func("memory-limit", memoryLimitUsage+" (default auto)", func(v string) error {
		m, err := parseMemoryLimit(v)
		o.memLimit = m
		return err
	})
	fs.group("Output")
	fs.StringVar(&o.addrFile, "addr-file", "", "write the bound address to this file once listening")
	fs.StringVar(&o.adminFile, "admin-addr-file", "", "write the admin listener's bound address to this file once listening")
	lf.define(fs, "info", "debug, info, warn or error")
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	keys, err := loadAccessKeys(o.keys, os.Getenv("QSCALE_ACCESS_KEYS"), o.keysFile)
	if err != nil {
		return usagef("%v", err)
	}
	o.cfg.Keys = keys
	o.cfg.AdminListen = adminListen(fs.FlagSet, o.adminListen, o.cfg.Listen)
	if tok := os.Getenv(adminTokenEnv); tok != "" && o.cfg.AdminToken == "" {
		o.cfg.AdminToken = tok
	}
	if o.queuesFile != "" {
		qs, err := config.LoadQueues(o.queuesFile)
		if err != nil {
			return usagef("%v", err)
		}
		o.cfg.Queues = qs
	}
	log, err := lf.logger(os.Stderr)
	if err != nil {
		return err
	}
	o.cfg.Logger = log

	mem := applyMemoryLimit(ctx, o.memLimit, log)
	defer mem.stop()
	s, err := server.Start(ctx, o.cfg)
	if err != nil {
		dir := o.cfg.DataDir
		if o.cfg.InMemory {
			dir = ""
		}
		return explainStart(err, dir, listenFlag{o.cfg.Listen, "--listen"}, listenFlag{o.cfg.AdminListen, "--admin-listen"})
	}
	mem.loaded()
	where := "data in " + o.cfg.DataDir
	if o.cfg.InMemory {
		where = "in memory: nothing is kept on disk"
	}
	log.Info("qscale server listening", "endpoint", s.URL(), "storage", where)
	if a := s.AdminURL(); a != "" {
		log.Info("admin listener", "url", a, "paths", "/metrics /healthz /readyz /queue/NAME /admin/backup", "token", o.cfg.AdminToken != "")
	}
	if len(o.cfg.Queues) > 0 {
		log.Info("queues declared", "file", o.queuesFile, "queues", len(o.cfg.Queues))
	}
	if len(keys) == 0 && o.cfg.InsecureNoAuth {
		log.Warn("no access keys configured and --insecure-no-auth given: anyone who reaches " + s.URL() + " can read, send and delete every message")
	} else if len(keys) == 0 {
		log.Warn("no access keys configured: requests are not authenticated and any signature is accepted (local development only)")
	} else {
		log.Info("verifying AWS Signature V4", "keys", len(keys))
	}
	for _, f := range []struct{ path, addr string }{{o.addrFile, s.Addr()}, {o.adminFile, s.AdminAddr()}} {
		if f.path == "" {
			continue
		}
		if err := writeAddrFile(f.path, f.addr); err != nil {
			s.Stop(context.Background())
			return err
		}
	}
	<-ctx.Done()
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return s.Stop(sctx)
}

// loadAccessKeys merges keys from flags, the environment and a file.
func loadAccessKeys(flags []string, env, file string) (map[string]string, error) {
	var all []string
	all = append(all, flags...)
	for _, k := range strings.Split(env, ",") {
		if k = strings.TrimSpace(k); k != "" {
			all = append(all, k)
		}
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("access keys file: %w", err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
				all = append(all, line)
			}
		}
	}
	keys := map[string]string{}
	for _, k := range all {
		id, secret, ok := strings.Cut(k, ":")
		if !ok || id == "" || secret == "" {
			return nil, fmt.Errorf("access key %q is not ID:SECRET", redact(k))
		}
		keys[id] = secret
	}
	return keys, nil
}

func redact(s string) string {
	if id, _, ok := strings.Cut(s, ":"); ok {
		return id + ":…"
	}
	if len(s) > 4 {
		return s[:4] + "…"
	}
	return s
}

// defaultAdminListen is where the admin listener listens by default.
const defaultAdminListen = "127.0.0.1:9327"

// adminListen returns the admin listener's address from --admin-listen
// ("" for off). Left at its default while --listen asks the system for a
// port (":0", as tests and side-by-side servers do), the admin listener
// asks for one too, so that such servers never contend for 9327.
func adminListen(fs *flag.FlagSet, flagValue, listen string) string {
	if flagValue == "off" {
		return ""
	}
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == "admin-listen" })
	if _, port, err := net.SplitHostPort(listen); !set && err == nil && port == "0" {
		return "127.0.0.1:0"
	}
	return flagValue
}

// writeAddrFile writes addr to path, then renames, so a reader never sees
// half an address.
func writeAddrFile(path, addr string) error {
	tmp := path + ".tmp"
	err := os.WriteFile(tmp, []byte(addr), 0o644)
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return fmt.Errorf("write address file: %w", err)
	}
	return nil
}
