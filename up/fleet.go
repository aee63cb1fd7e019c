package up

import (
	"sort"
	"time"

	"github.com/qscale/qscale/autoscale/localfleet"
)

// newLocalFleet builds the fleet of qscale worker processes that consume
// the configured queue from the embedded server.
func newLocalFleet(s *System) (*localfleet.Fleet, error) {
	w := s.cfg.Fleet.Worker
	argv := []string{s.opts.Executable, "worker",
		"--queue-url", s.QueueURL(s.cfg.Fleet.Queue),
		"--endpoint-url", s.SQSURL(),
	}
	// The workers' own grace stays below the fleet's, so that a worker
	// stopped at shutdown releases what it cannot finish before the fleet
	// would kill it.
	grace := s.cfg.Fleet.StopGrace.D()
	argv = append(argv, "--grace", (grace * 3 / 4).String())
	// Long polls of 5 s: a stopping worker lets its poll in progress finish
	// (so no message is stranded), and local polls cost nothing, so a
	// shorter wait only makes drains and Ctrl-C quicker. Flags may say
	// otherwise: the last --wait wins.
	argv = append(argv, "--wait", "5")
	argv = append(argv, w.Flags...)
	switch {
	case w.Demo > 0:
		argv = append(argv, "--demo", w.Demo.D().String())
	case w.HTTP != "":
		argv = append(argv, "--http", w.HTTP)
		if w.HTTPStart != "" {
			argv = append(argv, "--http-start", w.HTTPStart)
		}
	default:
		argv = append(argv, "--")
		argv = append(argv, w.Command...)
	}
	var env []string
	keys := make([]string, 0, len(w.Env))
	for k := range w.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+w.Env[k])
	}
	if id, secret, ok := firstKey(s.opts.Keys); ok {
		env = append(env, "AWS_ACCESS_KEY_ID="+id, "AWS_SECRET_ACCESS_KEY="+secret, "AWS_REGION="+s.cfg.Server.Region)
	}
	return localfleet.New(localfleet.Options{
		Command:      argv,
		Env:          env,
		Dir:          w.Dir,
		Logger:       s.log.With("part", "fleet"),
		Stdout:       s.opts.WorkerOutput,
		Stderr:       s.opts.WorkerOutput,
		MaxWorkers:   max(s.cfg.Fleet.MaxCapacity, 1),
		StopGrace:    grace,
		StartTimeout: time.Minute,
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
