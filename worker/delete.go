package worker

import (
	"context"
	"errors"
	"time"
)

// deleteLoop deletes succeeded messages in batches of whatever is waiting,
// up to 10, so a busy worker deletes ten at a time and an idle one at once.
func (w *Worker) deleteLoop() {
	defer w.deleters.Done()
	batch := make([]*held, 0, maxBatch)
	handles := make([]string, 0, maxBatch)
	for h := range w.deletes {
		batch = append(batch[:0], h)
	fill:
		for len(batch) < maxBatch {
			select {
			case h, ok := <-w.deletes:
				if !ok {
					break fill
				}
				batch = append(batch, h)
			default:
				break fill
			}
		}
		if len(batch) < maxBatch && w.cfg.DeleteDelay > 0 {
			// Wait a little for the batch to fill.
			t := w.clk.NewTimer(w.cfg.DeleteDelay)
		linger:
			for len(batch) < maxBatch {
				select {
				case h, ok := <-w.deletes:
					if !ok {
						break linger
					}
					batch = append(batch, h)
				case <-t.C():
					break linger
				}
			}
			t.Stop()
		}
		handles = handles[:0]
		for _, h := range batch {
			handles = append(handles, h.m.ReceiptHandle)
		}
		ctx, cancel := context.WithTimeout(w.baseCtx, 30*time.Second)
		err := w.cfg.Queue.DeleteBatch(ctx, handles)
		cancel()
		failed := 0
		if err != nil {
			var be *BatchError
			if errors.As(err, &be) {
				failed = len(be.Failed)
			} else {
				failed = len(batch)
			}
			w.log.Error("deleting messages", "err", err, "failed", failed)
		}
		w.mu.Lock()
		w.counts.DeleteErrors += uint64(failed)
		for _, h := range batch {
			delete(w.held, h)
		}
		w.updateLocked()
		w.mu.Unlock()
	}
}
