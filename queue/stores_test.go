package queue_test

import (
	"testing"

	"github.com/qscale/qscale/queue"
	"github.com/qscale/qscale/store/pebblestore"
)

// The engine's tests run over pebblestore as well as the in-memory store.
func init() {
	queue.TestStores = append(queue.TestStores, queue.TestStore{Name: "pebble", Open: func(t *testing.T) queue.Store {
		st, err := pebblestore.Open(t.TempDir(), pebblestore.Options{MinFreeBytes: -1})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}})
}
