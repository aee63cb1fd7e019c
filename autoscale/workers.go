package autoscale

import (
	"time"

	"github.com/qscale/qscale/worker/workerstatus"
)

// WorkerCounters are one worker's cumulative counters, from its status
// document (docs/worker.md): the workers are the autoscaler's sensors for
// what a queue's attributes cannot tell.
type WorkerCounters struct {
	// ID names the worker in its fleet; counters are compared with the
	// same worker's previous reading only.
	ID string
	// InFlight is how many messages the worker holds now.
	InFlight int
	// Completed counts the messages its handlers finished (succeeded or
	// failed), Succeeded those that were then deleted from the queue.
	Completed uint64
	Succeeded uint64
	// Failed counts the handler calls that failed, and Errors are the
	// last of them (workerstatus.Report.Errors), for the failure
	// reports of qscale up.
	Failed uint64
	Errors []workerstatus.HandlerError
	// HandlerTime is the time its handlers spent on the Completed
	// messages.
	HandlerTime time.Duration
}

// Sensors are the counters a fleet read from its workers at one State.
type Sensors struct {
	Workers []WorkerCounters
}

// WorkersFromCandidates is how every fleet fills FleetState's Busy,
// Reporting and Sensors from the candidates it read with
// workerstatus.ReadAll: busy ones by workerstatus's rule, and the
// counters of each worker whose document was read.
func WorkersFromCandidates(s *FleetState, cs []workerstatus.Candidate) {
	s.Busy = workerstatus.CountBusy(cs)
	s.Reporting = 0
	sn := &Sensors{}
	for _, c := range cs {
		if c.Starting || c.Err != nil || c.Report.Check() != nil {
			continue
		}
		s.Reporting++
		sn.Workers = append(sn.Workers, WorkerCounters{
			ID:          c.ID,
			InFlight:    c.Report.InFlight,
			Completed:   c.Report.Counts.Completed(),
			Succeeded:   c.Report.Counts.Succeeded,
			Failed:      c.Report.Counts.Failed,
			Errors:      c.Report.Errors,
			HandlerTime: time.Duration(c.Report.Counts.HandlerSeconds * float64(time.Second)),
		})
	}
	s.Sensors = sn
}
