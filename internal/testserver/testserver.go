// Package testserver runs an in-memory qscale queue server for tests.
package testserver

import (
	"context"
	"testing"
	"time"

	"github.com/qscale/qscale/server"
)

// Start runs an in-memory server on 127.0.0.1 and stops it when the test
// ends. It returns the endpoint URL, e.g. http://127.0.0.1:41234.
func Start(t testing.TB) string {
	return StartConfig(t, server.Config{}).URL()
}

// StartConfig runs a server with cfg (Listen and InMemory default to a free
// loopback port and true) and stops it when the test ends.
func StartConfig(t testing.TB, cfg server.Config) *server.Server {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.DataDir == "" {
		cfg.InMemory = true
	}
	if cfg.DeletedQueueCooldown == 0 {
		cfg.DeletedQueueCooldown = -1
	}
	s, err := server.Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("start queue server: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Errorf("stop queue server: %v", err)
		}
	})
	return s
}
