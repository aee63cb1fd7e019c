package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/qscale/qscale/up"
)

// stopUp stops qscale up gracefully: workers finish what they hold within
// grace (the fleet's stopGrace), the console and the server within 15 s
// more. A second Ctrl-C (or SIGTERM) ends the graceful stop: workers still
// running are killed, what they held returns to the queue after its
// visibility timeout, and qscale up exits 4 with one line that says so.
func stopUp(s *up.System, grace time.Duration) error {
	limit := grace + 15*time.Second // the console and the server stop after the workers
	again := make(chan os.Signal, 1)
	signal.Notify(again, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(again)
	fmt.Printf("stopping: workers finish what they hold (at most %v); Ctrl-C again to stop at once (exit 4)\n", grace)
	sctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var quit atomic.Bool
	go func() {
		select {
		case <-again:
			quit.Store(true)
			fmt.Println("stopping at once")
			cancel()
		case <-sctx.Done():
		}
	}()
	err := s.Stop(sctx)
	if quit.Load() {
		// What the cut-short stop reports is the cut itself.
		return exitError{exitQuit, "stopped at once by a second signal; messages the workers held return to the queue when their visibility timeout ends"}
	}
	return err
}
