package queue

import (
	"context"
	"testing"
	"time"

	"github.com/qscale/qscale/internal/clock"
)

// TestStore is a store the engine's tests run over.
type TestStore struct {
	Name string
	Open func(t *testing.T) Store // a fresh, empty store, closed by the engine's Stop
}

// TestStores are the stores every engine test built on forEachStore runs
// over: the in-memory store here, and pebblestore, which package queue
// cannot import, added by stores_test.go in package queue_test.
var TestStores = []TestStore{{Name: "memory", Open: func(*testing.T) Store { return MemoryStore{} }}}

type setupFunc func(t *testing.T) (context.Context, *Engine, *clock.Fake)

// forEachStore runs f once per store in TestStores, as a subtest named for
// the store, with a setup that opens the engine over it.
func forEachStore(t *testing.T, f func(t *testing.T, setup setupFunc)) {
	t.Helper()
	for _, s := range TestStores {
		t.Run(s.Name, func(t *testing.T) {
			f(t, func(t *testing.T) (context.Context, *Engine, *clock.Fake) {
				t.Helper()
				t.Parallel()
				clk := clock.NewFake(time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))
				e, err := Open(context.Background(), Options{Clock: clk, Store: s.Open(t)})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { e.Stop(context.Background()) })
				return context.Background(), e, clk
			})
		})
	}
}
