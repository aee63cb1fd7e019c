package pebblestore

import (
	"fmt"
	"log/slog"
	"sync"

	"github.com/cockroachdb/pebble/vfs"

	"github.com/qscale/qscale/queue"
)

// DefaultMinFreeBytes is the free space a store keeps by default: room for
// Pebble to flush its memtables and compact, and for receives and deletes to
// go on, after new messages are refused.
const DefaultMinFreeBytes = 256 << 20

// spaceGuard refuses new messages while the store's file system has less
// free space than the watermark, so a full disk never reaches Pebble's
// write-ahead log. It asks the file system (statfs) every checkEvery
// durable commits or checkBytes written, and at every commit while the
// space is low, so it notices at once when space returns.
type spaceGuard struct {
	dir     string
	log     *slog.Logger
	bytes   int64   // watermark in bytes
	percent float64 // watermark in percent of the file system's size

	mu      sync.Mutex // guards the fields below
	need    int64      // the watermark now: the larger of bytes and percent
	avail   int64      // free bytes at the last check, less what was written since
	commits int        // durable commits since the last check
	written int64      // bytes written since the last check
	low     bool       // below the watermark at the last check
	checked bool
}

const (
	checkEvery = 64
	checkBytes = 4 << 20
)

func newSpaceGuard(dir string, log *slog.Logger, bytes int64, percent float64) *spaceGuard {
	if bytes == 0 {
		bytes = DefaultMinFreeBytes
	}
	if bytes < 0 && percent <= 0 {
		return nil
	}
	return &spaceGuard{dir: dir, log: log, bytes: max(bytes, 0), percent: percent}
}

// allow returns nil when a write of about n bytes leaves the watermark
// free, else an error wrapping queue.ErrStoreFull.
func (g *spaceGuard) allow(n int) error {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.checked || g.low || g.commits >= checkEvery || g.written >= checkBytes {
		if err := g.refreshLocked(); err != nil {
			return nil // cannot tell: let the write try
		}
	}
	g.commits++
	if g.avail-g.written-int64(n) < g.need {
		if !g.low {
			g.low = true
			g.log.Error("store disk almost full: refusing new messages until space is freed",
				"dir", g.dir, "free_bytes", g.avail-g.written, "min_free_bytes", g.need)
		}
		return fmt.Errorf("pebblestore: %w (%d bytes free in %s, keeping %d)", queue.ErrStoreFull, g.avail-g.written, g.dir, g.need)
	}
	g.written += int64(n)
	return nil
}

// enough reports whether the watermark is free now.
func (g *spaceGuard) enough() bool {
	if g == nil {
		return true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.refreshLocked(); err != nil {
		return true
	}
	return g.avail >= g.need
}

func (g *spaceGuard) refreshLocked() error {
	u, err := vfs.Default.GetDiskUsage(g.dir)
	if err != nil {
		return err
	}
	g.checked = true
	g.avail = int64(u.AvailBytes)
	g.need = max(g.bytes, int64(g.percent/100*float64(u.TotalBytes)))
	g.commits, g.written = 0, 0
	if g.low && g.avail >= g.need {
		g.low = false
		g.log.Info("store disk space is back above the watermark: accepting new messages", "dir", g.dir, "free_bytes", g.avail)
	}
	return nil
}
