package storetest_test

import (
	"testing"

	"github.com/qscale/qscale/queue"
	"github.com/qscale/qscale/queue/storetest"
)

func TestMemoryStore(t *testing.T) {
	t.Parallel()
	storetest.Run(t, storetest.Factory{Open: func(*testing.T, string) queue.Store { return queue.NewMemoryStore() }})
}
