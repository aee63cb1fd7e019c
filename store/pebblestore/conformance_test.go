package pebblestore_test

import (
	"testing"

	"github.com/qscale/qscale/queue"
	"github.com/qscale/qscale/queue/storetest"
	"github.com/qscale/qscale/store/pebblestore"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, storetest.Factory{
		Open: func(t *testing.T, dir string) queue.Store {
			st, err := pebblestore.Open(dir, pebblestore.Options{MinFreeBytes: -1})
			if err != nil {
				t.Fatal(err)
			}
			return st
		},
		Durable: true,
	})
}
