package bench

import (
	"time"

	"github.com/qscale/qscale/internal/latency"
)

// Latency summarises a set of durations, in milliseconds.
type Latency = latency.Summary

// Percentiles summarises d (nearest-rank percentiles). It sorts d.
func Percentiles(d []time.Duration) Latency { return latency.Percentiles(d) }
