package workerstatus_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/qscale/qscale/worker/workerstatus"
)

// A fleet of five scales in to two: it reads each worker's status, orders
// them, and removes the first three. The busy worker and the one whose
// status could not be read stay.
func ExampleOrder() {
	now := time.Now()
	doc := func(st workerstatus.State, idleFor time.Duration, inFlight int) workerstatus.Report {
		return workerstatus.Report{Version: workerstatus.Version, State: st, Since: now.Add(-idleFor), InFlight: inFlight}
	}
	workers := []workerstatus.Candidate{
		{ID: "w1", Report: doc(workerstatus.Busy, time.Minute, 2)},
		{ID: "w2", Report: doc(workerstatus.Idle, 5*time.Second, 0)},
		{ID: "w3", Err: errors.New("GET http://10.0.0.3:9090/status: timeout")},
		{ID: "w4", Starting: true, StartedAt: now},
		{ID: "w5", Report: doc(workerstatus.Idle, time.Hour, 0)},
	}
	order := workerstatus.Order(workers)
	for i, w := range order {
		verdict := "keep"
		if i < len(order)-2 {
			verdict = "remove"
		}
		fmt.Println(w.ID, w.Class(), verdict)
	}
	fmt.Println("busy:", workerstatus.CountBusy(workers))
	// Output:
	// w4 starting remove
	// w5 idle remove
	// w2 idle remove
	// w3 unknown keep
	// w1 busy keep
	// busy: 1
}
