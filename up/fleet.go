package up

import (
	"context"

	"github.com/qscale/qscale/autoscale/fleets"
	"github.com/qscale/qscale/config"
)

// newFleet builds (and does not start) the configured fleet through the
// same registry as qscale autoscale; the worker: shorthand becomes a local
// fleet of qscale worker processes on the embedded server's queues (each
// worker serves every queue of the fleet, in turn), logging in qscale up's
// --log-format.
func newFleet(ctx context.Context, s *System, f config.Fleet, path string) (*fleets.Fleet, error) {
	if f.Worker != nil {
		var env []string
		if id, secret, ok := firstKey(s.opts.Keys); ok {
			env = []string{"AWS_ACCESS_KEY_ID=" + id, "AWS_SECRET_ACCESS_KEY=" + secret, "AWS_REGION=" + s.cfg.Server.Region}
		}
		names := f.QueueNames()
		t := config.WorkerTarget{
			Executable: s.opts.Executable,
			QueueURL:   s.QueueURL(names[0]),
			Endpoint:   s.SQSURL(),
			Env:        env,
		}
		for _, n := range names[1:] {
			t.MoreQueueURLs = append(t.MoreQueueURLs, s.QueueURL(n))
		}
		w := *f.Worker
		if s.opts.LogFormat != "" {
			// The workers log as qscale up does; the file's flags come
			// after and may still override it.
			w.Flags = append([]string{"--log-format", s.opts.LogFormat}, w.Flags...)
		}
		f.Local = w.Local(t, f.MaxCapacity)
		f.Worker = nil
	}
	out := s.opts.WorkerOutput
	if out != nil && s.opts.LogFormat == "json" {
		out = newJSONWorkerLines(out, s.opts.Clock)
	}
	return fleets.Build(ctx, f, path, fleets.Env{
		Clock:      s.opts.Clock,
		Logger:     s.log.With("part", "fleet", "fleet", f.Name),
		Stdout:     out,
		Stderr:     out,
		Executable: s.opts.Executable,
	})
}

// firstKey is the access key the workers sign with: the smallest id, so
// the choice is stable.
func firstKey(keys map[string]string) (id, secret string, ok bool) {
	for k := range keys {
		if !ok || k < id {
			id, ok = k, true
		}
	}
	return id, keys[id], ok
}
