// Package server assembles qscale's queue server: a store, the queue
// engine and the SQS API on an HTTP listener, with one lifecycle.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/internal/sigv4"
	"github.com/qscale/qscale/queue"
	"github.com/qscale/qscale/sqsapi"
	"github.com/qscale/qscale/store/pebblestore"
)

// Config configures a Server.
type Config struct {
	Listen    string            // default 127.0.0.1:9324
	DataDir   string            // ignored when InMemory
	InMemory  bool              // keep nothing on disk
	AccountID string            // default 000000000000
	Region    string            // default us-east-1
	BaseURL   string            // scheme://host of queue URLs; default from each request
	Keys      map[string]string // access key id -> secret; empty: signatures not checked
	Clock     clock.Clock
	Logger    *slog.Logger
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
}

// Server is a running queue server.
type Server struct {
	cfg    Config
	Engine *queue.Engine
	ln     net.Listener
	http   *http.Server
	done   chan error
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
	var st queue.Store = queue.MemoryStore{}
	if !cfg.InMemory {
		if cfg.DataDir == "" {
			return nil, errors.New("a data directory is required unless the server runs in memory")
		}
		ps, err := pebblestore.Open(cfg.DataDir, pebblestore.Options{
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
	opts := sqsapi.Options{BaseURL: cfg.BaseURL, Logger: cfg.Logger}
	if len(cfg.Keys) > 0 {
		opts.Verifier = sigv4.NewVerifier(cfg.Keys, cfg.Clock)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	if err := e.Start(ctx); err != nil {
		ln.Close()
		st.Close()
		return nil, err
	}
	s := &Server{
		cfg:    cfg,
		Engine: e,
		ln:     ln,
		done:   make(chan error, 1),
		http: &http.Server{
			Handler:           sqsapi.NewHandler(e, opts),
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       2 * time.Minute,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
		},
	}
	go func() { s.done <- s.http.Serve(ln) }()
	return s, nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL returns the server's endpoint URL.
func (s *Server) URL() string { return "http://" + s.Addr() }

// Handler returns the SQS API handler, for mounting elsewhere.
func (s *Server) Handler() http.Handler { return s.http.Handler }

// Stop answers waiting long polls, lets requests in flight finish, then
// closes the store. It returns when ctx ends even if that is not done: the
// store then keeps closing in the background (everything acknowledged is
// already durable).
func (s *Server) Stop(ctx context.Context) error {
	s.Engine.Quiesce()
	err := s.http.Shutdown(ctx)
	if err != nil {
		s.http.Close()
	}
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
