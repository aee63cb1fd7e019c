// Package server assembles qscale's queue server: a store, the queue
// engine and the SQS API on an HTTP listener, with one lifecycle.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/qscale/qscale/config"
	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/internal/sigv4"
	"github.com/qscale/qscale/internal/webguard"
	"github.com/qscale/qscale/queue"
	"github.com/qscale/qscale/sqsapi"
	"github.com/qscale/qscale/store/pebblestore"
)

// Config configures a Server.
type Config struct {
	Listen    string // default 127.0.0.1:9324
	DataDir   string // ignored when InMemory
	InMemory  bool   // keep nothing on disk
	AccountID string // default 000000000000
	Region    string // default us-east-1
	// BaseURL is scheme://host[:port] of queue URLs; default: the Host of
	// each request (signed, or checked as below). Without Keys, its host is
	// the one name besides IP addresses and localhost that requests may be
	// addressed to.
	BaseURL string
	// Keys are access key id -> secret. Empty: signatures are not checked;
	// then requests must be addressed to an IP address, localhost or the
	// host of BaseURL, and requests that a browser sent for a page of
	// another site are refused (see sqsapi.Options.BrowserGuard).
	Keys map[string]string
	// InsecureNoAuth allows Listen beyond loopback without Keys, where
	// anyone who reaches the port can use every queue. Without it, Start
	// refuses that combination.
	InsecureNoAuth bool
	// MaxConnections caps open client connections (default
	// the open-file limit less a reserve, at most DefaultMaxConnections;
	// negative: no cap).
	MaxConnections int
	// BodyTimeout is how long a client may take to send each 64 KiB of a
	// request body (default sqsapi.DefaultBodyTimeout).
	BodyTimeout time.Duration
	// MaxBodyMemory bounds the memory all request bodies hold at once
	// (default sqsapi.DefaultMaxBodyMemory).
	MaxBodyMemory int64
	Clock         clock.Clock
	Logger        *slog.Logger
	// DeletedQueueCooldown overrides SQS's 60 s wait before a deleted
	// queue's name can be used again (negative: no wait).
	DeletedQueueCooldown time.Duration
	// Repair rebuilds a damaged store from what can be read instead of
	// refusing to start, and logs what was lost (see pebblestore.Options).
	Repair bool
	// MinFreeBytes and MinFreePercent: new messages are refused with
	// ServiceUnavailable while the data directory's file system has less
	// free space (0: pebblestore.DefaultMinFreeBytes; negative: none).
	MinFreeBytes   int64
	MinFreePercent float64

	// Operations (ops.go, docs/operations.md).

	// AdminListen is the admin listener's host:port: /metrics, /healthz,
	// /readyz, the producer endpoint /queue/NAME, /admin/backup and the
	// message browser /admin/queues/NAME/messages. Empty: none.
	AdminListen string
	// AdminToken guards the admin listener's /metrics, /queue/ and /admin/
	// (bearer token); required when AdminListen is beyond loopback.
	AdminToken string
	// TLSCertFile and TLSKeyFile (PEM), both or neither: serve the SQS API
	// and the admin listener over TLS.
	TLSCertFile, TLSKeyFile string
	// Queues are created when missing, or get their attributes and tags
	// set when they exist, at start (EnsureQueues).
	Queues []config.Queue
}

// Server is a running queue server.
type Server struct {
	cfg     Config
	Engine  *queue.Engine
	ln      net.Listener
	limit   *connLimiter // nil without a cap
	api     *sqsapi.Handler
	apiOpts sqsapi.Options // api's, for Handler
	http    *http.Server
	done    chan error
	ops     ops // the admin listener, metrics and health
}

// Start opens the store, loads the queues and starts serving. It returns
// once the listener is bound.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:9324"
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if len(cfg.Keys) == 0 && !cfg.InsecureNoAuth && !loopbackListen(cfg.Listen) {
		return nil, fmt.Errorf("refusing to serve %s without access keys: anyone who reaches it could read, "+
			"send and delete every message; configure access keys, or listen on 127.0.0.1, "+
			"or accept the risk explicitly (qscale server --insecure-no-auth)", cfg.Listen)
	}
	tlsConfig, err := cfg.checkOps()
	if err != nil {
		return nil, err
	}
	if cfg.MaxConnections == 0 {
		cfg.MaxConnections = defaultMaxConnections()
	}
	var st queue.Store = queue.MemoryStore{}
	var ps *pebblestore.Store
	if !cfg.InMemory {
		if cfg.DataDir == "" {
			return nil, errors.New("a data directory is required unless the server runs in memory")
		}
		ps, err = pebblestore.Open(cfg.DataDir, pebblestore.Options{
			Logger: cfg.Logger, Repair: cfg.Repair,
			MinFreeBytes: cfg.MinFreeBytes, MinFreePercent: cfg.MinFreePercent,
		})
		if err != nil {
			return nil, err
		}
		st = ps
	}
	e, err := queue.Open(ctx, queue.Options{
		Region: cfg.Region, AccountID: cfg.AccountID, Store: st, Clock: cfg.Clock, Logger: cfg.Logger,
		DeletedQueueCooldown: cfg.DeletedQueueCooldown,
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	opts := sqsapi.Options{
		BaseURL: cfg.BaseURL, ListenAddr: ln.Addr().String(), Logger: cfg.Logger,
		BodyTimeout: cfg.BodyTimeout, MaxBodyMemory: cfg.MaxBodyMemory,
		Observer: newRequestMetrics(),
	}
	if len(cfg.Keys) > 0 {
		opts.Verifier = sigv4.NewVerifier(cfg.Keys, cfg.Clock)
	} else {
		opts.BrowserGuard = true
		if h := webguard.HostOf(cfg.BaseURL); h != "" {
			opts.AllowedHosts = []string{h}
		}
	}
	if err := e.Start(ctx); err != nil {
		ln.Close()
		st.Close()
		return nil, err
	}
	if err := EnsureQueues(ctx, e, cfg.Queues); err != nil {
		ln.Close()
		e.Stop(context.WithoutCancel(ctx))
		return nil, err
	}
	s := &Server{
		cfg:    cfg,
		Engine: e,
		ln:     ln,
		done:   make(chan error, 1),
		http: &http.Server{
			Handler: nil, // set below, once the listener is known
			// The body has its own deadline, kept by the handler as bytes
			// arrive (a minimum rate); ReadTimeout is the backstop for a
			// request that never gets there.
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       2 * time.Minute,
			IdleTimeout:       time.Minute,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
		},
	}
	serve := ln
	if cfg.MaxConnections > 0 {
		s.limit = newConnLimiter(ln, cfg.MaxConnections)
		s.http.ConnState = s.limit.connState
		serve = s.limit
	}
	if tlsConfig != nil {
		// TLS is ended here rather than by net/http, so that the listener
		// below hands back connections that parked long polls took over:
		// decrypted ones, as net/http's own would be. HTTP/2 as net/http
		// offers it (its requests are not parked: they share a socket).
		serve = tls.NewListener(serve, withHTTPProtos(tlsConfig))
	}
	// Parked long polls hand their connections back through the listener
	// (sqsapi's park.go).
	rl := newReuseListener(serve)
	opts.Reuse, opts.IdleTimeout, opts.TLS = rl.reuse, s.http.IdleTimeout, tlsConfig != nil
	serve = rl
	s.api, s.apiOpts = sqsapi.NewHandler(e, opts), opts
	s.http.Handler = s.api
	go func() { s.done <- serveHTTP(s.http, serve) }()
	if err := s.startOps(ps, opts.Observer.(*requestMetrics), tlsConfig); err != nil {
		s.Stop(context.WithoutCancel(ctx))
		return nil, err
	}
	return s, nil
}

// withHTTPProtos returns a copy of c that offers HTTP/2 and HTTP/1.1 by
// ALPN, as net/http's ServeTLS does.
func withHTTPProtos(c *tls.Config) *tls.Config {
	c = c.Clone()
	if !slices.Contains(c.NextProtos, "h2") {
		c.NextProtos = append([]string{"h2"}, c.NextProtos...)
	}
	if !slices.Contains(c.NextProtos, "http/1.1") {
		c.NextProtos = append(c.NextProtos, "http/1.1")
	}
	return c
}

// OpenConnections returns the number of client connections open now
// (counted only when MaxConnections caps them; else 0).
func (s *Server) OpenConnections() int {
	if s.limit == nil {
		return 0
	}
	return s.limit.open()
}

// loopbackListen reports whether addr (host:port) listens on this machine
// only.
func loopbackListen(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Addr returns the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL returns the server's endpoint URL (https with TLS).
func (s *Server) URL() string { return scheme(s.cfg) + "://" + s.Addr() }

// Handler returns an SQS API handler for s's engine, for mounting
// elsewhere. Unlike the one s serves, its long polls wait in the serving
// goroutine: a parked poll's connection could only go back to s's own
// listener (sqsapi.Options.Reuse).
func (s *Server) Handler() http.Handler {
	opts := s.apiOpts
	opts.Reuse = nil
	return sqsapi.NewHandler(s.Engine, opts)
}

// Stop answers waiting long polls, lets requests in flight finish, then
// closes the store. It returns when ctx ends even if that is not done: the
// store then keeps closing in the background (everything acknowledged is
// already durable).
func (s *Server) Stop(ctx context.Context) error {
	s.ops.stopping.Store(true)
	s.Engine.Quiesce()
	err := s.http.Shutdown(ctx)
	if err != nil {
		s.http.Close()
	}
	// Long polls parked outside net/http were woken by Quiesce; they
	// answer before the engine stops, and their connections close.
	s.api.CloseIdle()
	if perr := s.api.WaitParked(ctx); err == nil {
		err = perr
	}
	s.stopOps(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Engine.Stop(ctx) }()
	select {
	case serr := <-done:
		if err == nil {
			err = serr
		}
	case <-ctx.Done():
		if err == nil {
			err = fmt.Errorf("stop: store still closing: %w", ctx.Err())
		}
	}
	return err
}
