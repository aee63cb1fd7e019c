package main

import (
	"fmt"

	"context"

	"github.com/qscale/qscale/autoscale/queueset"
	"github.com/qscale/qscale/autoscale/sqssource"
	"github.com/qscale/qscale/config"
)

// buildSources builds one SQS source per queue of the fleet (with the
// CloudWatch age reader when source.cloudWatchAge is set), checks that
// they give every signal the policies read, and combines them
// (queueCombine) when there are several.
func (a *autoscaler) buildSources(ctx context.Context) error {
	f := a.cfg
	var members []queueset.Member
	for i, q := range f.QueueList() {
		qpath := a.path + "." + queuePath(f, i)
		src, err := sqssource.FromConfig(ctx, q.Autoscale())
		if err != nil {
			return fmt.Errorf("%s: %w", qpath, err)
		}
		if f.CloudWatchAge() {
			if err := src.ReadAgeFromCloudWatch(ctx, sqssource.CloudWatchAge{Endpoint: f.Source.CloudWatchEndpoint, Protocol: f.Source.CloudWatchProtocol}); err != nil {
				return fmt.Errorf("%s.source.cloudWatchAge: %w", a.path, err)
			}
		}
		a.queues = append(a.queues, src)
		members = append(members, queueset.Member{Name: q.QueueName(), Source: src})
	}
	if err := requireSignals(f, a.path, a.queues); err != nil {
		return err
	}
	if len(members) == 1 {
		a.src = members[0].Source
		return nil
	}
	set, err := queueset.New(f.Combine(), members...)
	if err != nil {
		return fmt.Errorf("%s.queues: %w", a.path, err)
	}
	a.src = set
	return nil
}

// queuePath is the path of the fleet's i-th queue: "queue" or
// "queues[i]".
func queuePath(f config.Fleet, i int) string {
	if len(f.Queues) > 0 {
		return fmt.Sprintf("queues[%d]", i)
	}
	return "queue"
}

// requireSignals refuses a policy that reads a signal one of the queue
// sources cannot give (a step alarm on the oldest message's age against
// Amazon SQS without source.cloudWatchAge), and makes each source fail
// loudly if its endpoint turns out not to give it, so that no policy runs
// on a silent zero.
func requireSignals(f config.Fleet, path string, srcs []*sqssource.Source) error {
	for _, n := range f.Needs(path) {
		if n.Signal != config.SignalOldestAge {
			continue
		}
		for _, src := range srcs {
			if !src.ReadsOldestAge() {
				return n.Unavailable(src.Endpoint().String())
			}
			src.NeedOldestAge(n.Unavailable("this endpoint (not a qscale server)"))
		}
	}
	return nil
}
