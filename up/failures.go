package up

import (
	"encoding/json"
	"log/slog"
	"strings"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/failwatch"
	"github.com/qscale/qscale/dashboard"
	"github.com/qscale/qscale/queue"
	"github.com/qscale/qscale/worker/workerstatus"
)

// failureWatch is a fleet's failwatch.Watch over the queue engine's
// dead-letter moves: the narration, the dashboard and /metrics show its
// Report.
type failureWatch struct{ *failwatch.Watch }

func newFailureWatch(e *queue.Engine, qs []*queue.Queue, max int, warnAfter time.Duration, log *slog.Logger) *failureWatch {
	return &failureWatch{failwatch.New(failwatch.Options{
		Max: max, WarnAfter: warnAfter, Logger: log, DeadLetters: engineDeadLetters{e: e, qs: qs},
	})}
}

// observe takes one decision's observation and returns the new report.
func (w *failureWatch) observe(d autoscale.Decision) dashboard.Failures { return w.Observe(d) }

// failureCollector exports every fleet's failure report (failwatch's
// series).
type failureCollector struct{ *failwatch.Collector }

func newFailureCollector() *failureCollector { return &failureCollector{failwatch.NewCollector()} }

func (c *failureCollector) add(fleet, queue string, w *failureWatch) { c.Add(fleet, queue, w.Report) }

// engineDeadLetters reads the fleet's dead-letter queue from the engine,
// in memory: the moves of every queue of the fleet add up; the first
// queue's dead-letter queue is the one named (they usually share one).
type engineDeadLetters struct {
	e  *queue.Engine
	qs []*queue.Queue
}

var _ failwatch.DeadLetters = engineDeadLetters{}

func (r engineDeadLetters) DeadLetters() failwatch.DeadLetterReading {
	var dl failwatch.DeadLetterReading
	for _, q := range r.qs {
		dl.Moved += q.Stats().Moved
		if name := deadLetterQueue(q); name != "" && dl.Queue == "" {
			dl.Queue = name
			if dq, err := r.e.Queue(name); err == nil {
				c := dq.Counts()
				dl.Messages = c.Visible + c.Inflight + c.Delayed
			}
		}
	}
	return dl
}

// deadLetterQueue names q's dead-letter queue, "" without a redrive
// policy.
func deadLetterQueue(q *queue.Queue) string {
	attrs, err := q.Attributes([]string{queue.AttrRedrivePolicy})
	if err != nil || attrs[queue.AttrRedrivePolicy] == "" {
		return ""
	}
	var rp struct {
		DeadLetterTargetArn string `json:"deadLetterTargetArn"`
	}
	if json.Unmarshal([]byte(attrs[queue.AttrRedrivePolicy]), &rp) != nil {
		return ""
	}
	arn := rp.DeadLetterTargetArn
	return arn[strings.LastIndexByte(arn, ':')+1:]
}

// describeError is one handler error on one line, for the narration.
func describeError(e workerstatus.HandlerError) string { return failwatch.DescribeError(e) }
