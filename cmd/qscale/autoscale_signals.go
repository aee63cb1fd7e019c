package main

import (
	"github.com/qscale/qscale/autoscale/sqssource"
	"github.com/qscale/qscale/config"
)

// requireSignals refuses a policy that reads a signal the queue source
// cannot give (a step alarm on the oldest message's age against Amazon
// SQS), and makes the source fail loudly if the endpoint turns out not to
// give it, so that no policy runs on a silent zero.
func requireSignals(f config.Fleet, path string, src *sqssource.Source) error {
	for _, n := range f.Needs(path) {
		if n.Signal != config.SignalOldestAge {
			continue
		}
		if !src.ReadsOldestAge() {
			return n.Unavailable(src.Endpoint().String())
		}
		src.NeedOldestAge(n.Unavailable("this endpoint (not a qscale server)"))
	}
	return nil
}
