package config

import (
	"sort"
	"strconv"
	"time"

	"github.com/qscale/qscale/autoscale/policy"
)

// WorkerTarget is what the worker: shorthand needs from the qscale up that
// runs it.
type WorkerTarget struct {
	// Executable is the qscale binary.
	Executable string
	// QueueURL and Endpoint are the fleet's queue and the SQS endpoint.
	QueueURL, Endpoint string
	// MoreQueueURLs are the fleet's further queues, when it has several:
	// each worker serves them all, in turn (worker.MultiQueue).
	MoreQueueURLs []string
	// Env is added after the section's own (e.g. the access key the
	// workers sign with).
	Env []string
}

// Local expands the shorthand into the local fleet it stands for: `qscale
// worker` on the target's queue and endpoint, with --grace of three
// quarters of StopGrace (so a stopped worker releases what it cannot
// finish before the fleet kills it) and long polls of DefaultWorkerWait
// seconds; Flags come after and may override both. maxWorkers is the
// fleet's maxCapacity.
func (w Worker) Local(t WorkerTarget, maxCapacity int) *Local {
	grace := w.StopGrace.D()
	if grace == 0 {
		grace = DefaultStopGrace
	}
	argv := []string{t.Executable, "worker", "--queue-url", t.QueueURL}
	for _, u := range t.MoreQueueURLs {
		argv = append(argv, "--queue-url", u)
	}
	argv = append(argv,
		"--endpoint-url", t.Endpoint,
		"--grace", (grace * 3 / 4).String(),
		"--wait", strconv.Itoa(DefaultWorkerWait),
	)
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
	keys := make([]string, 0, len(w.Env))
	for k := range w.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	env := Env{}
	for _, k := range keys {
		env = append(env, k+"="+w.Env[k])
	}
	env = append(env, t.Env...)
	return &Local{
		Command:           argv,
		Env:               env,
		Dir:               w.Dir,
		MaxWorkers:        max(maxCapacity, 1),
		StartTimeout:      policy.Duration(DefaultStartTimeout),
		StopGrace:         policy.Duration(grace),
		RestartBackoff:    policy.Duration(DefaultRestartBackoff),
		MaxRestartBackoff: policy.Duration(DefaultMaxRestartBackoff),
	}
}

// Quickstart is what qscale up runs without a file: the classic queue-worker scenario (a burst of 10,000 messages, 0 to 10 workers).
// One queue, demo, with a dead-letter queue; workers with the 10 ms demo
// handler; zero to ten of them, sized by the queueing policy to keep every
// wait under 1 s (100 messages per worker at 10 ms each). Defaults are
// applied and it is valid.
func Quickstart() *Config {
	c := Config{
		Queues: []Queue{
			{Name: "demo-dlq"},
			{Name: "demo", Attributes: map[string]string{
				"VisibilityTimeout": "30",
				"RedrivePolicy":     `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:demo-dlq","maxReceiveCount":"5"}`,
			}},
		},
		Fleets: []Fleet{{
			Queue:       QueueRef{Name: "demo"},
			Worker:      &Worker{Demo: policy.Duration(10 * time.Millisecond)},
			MinCapacity: 0,
			MaxCapacity: 10,
			Policies: []Policy{{
				Name:     "wait",
				Queueing: &policy.QueueingConfig{AcceptableWait: policy.Duration(time.Second)},
			}},
		}},
	}
	c = c.WithDefaults()
	return &c
}
