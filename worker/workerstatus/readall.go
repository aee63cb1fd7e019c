package workerstatus

import (
	"context"
	"sync"
)

// ReadAll reads the status of every candidate that is not starting, at
// most limit at a time (1 when limit < 1), calling read with the
// candidate's index; it sets each one's Report, or Err when read fails. It
// returns once every read has returned, with ctx's error if ctx ended
// meanwhile (the reads are then incomplete).
func ReadAll(ctx context.Context, cs []Candidate, limit int, read func(ctx context.Context, i int) (Report, error)) error {
	slots := make(chan struct{}, max(limit, 1))
	var wg sync.WaitGroup
	for i := range cs {
		if cs[i].Starting {
			continue
		}
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			// Each goroutine writes its own element only.
			cs[i].Report, cs[i].Err = read(ctx, i)
		})
	}
	wg.Wait()
	return ctx.Err()
}
