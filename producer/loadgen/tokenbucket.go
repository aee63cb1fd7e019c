package loadgen

import (
	"math"
	"time"
)

// tokenBucket paces a rate run. It fills at rate tokens per second up to
// capacity (one batch, or MaxCatchUp of tokens when that is more), and
// starts with one batch's worth.
type tokenBucket struct {
	rate     float64
	capacity float64
	tokens   float64
	last     time.Time
}

func newTokenBucket(rate float64, batch int, now time.Time) *tokenBucket {
	return &tokenBucket{
		rate:     rate,
		capacity: max(float64(batch), rate*MaxCatchUp.Seconds()),
		tokens:   float64(batch),
		last:     now,
	}
}

// take takes n tokens and returns 0 when there are enough at now;
// otherwise it takes none and returns how long until there will be.
func (b *tokenBucket) take(now time.Time, n int) time.Duration {
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(b.capacity, b.tokens+d.Seconds()*b.rate)
		b.last = now
	}
	need := float64(n)
	if b.tokens >= need-1e-9 {
		b.tokens = max(0, b.tokens-need)
		return 0
	}
	return time.Duration(math.Ceil((need - b.tokens) / b.rate * float64(time.Second)))
}
