package autoscale

import "time"

// Learned is what a controller learned of its fleet that a new controller
// would have to learn again: the mean time a worker spends on a message and
// the time the fleet takes to start a worker. Without it, the first
// episode after a restart is sized with the policies' defaults (a tenth of
// a second a message for a 10 s objective, 30 s to start), which can be
// ten times off either way. Options.Learned seeds a controller with it;
// Controller.Learned reads it back, for the caller to keep.
type Learned struct {
	ProcessingTime time.Duration
	StartupTime    time.Duration
}

// Learned returns the processing time measured last (or the one
// Options.Learned gave, until one is measured) and the start-up time
// estimate (the same).
func (c *Controller) Learned() Learned {
	c.tickMu.Lock()
	defer c.tickMu.Unlock()
	l := Learned{ProcessingTime: c.seedPT, StartupTime: c.startup.estimate()}
	if c.measuredPT > 0 {
		l.ProcessingTime = c.measuredPT
	}
	return l
}

// fillLearned notes the processing time measured at this tick, or gives
// the remembered one to a tick that measured none before anything was
// measured.
func (c *Controller) fillLearned(q *QueueStats) {
	switch {
	case q.ProcessingTime > 0:
		c.measuredPT = q.ProcessingTime
	case c.measuredPT == 0 && c.seedPT > 0:
		q.ProcessingTime = c.seedPT
	}
}
