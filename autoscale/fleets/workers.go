package fleets

import "github.com/qscale/qscale/dashboard"

// Workers lists a local fleet's worker processes for a dashboard (its
// Workers table): id, PID, state and since when. It is nil for other
// kinds, whose dashboards list the workers whose status documents were
// read instead (dashboard/sqsbackend).
func (f *Fleet) Workers() func() []dashboard.WorkerInfo {
	lf := f.Local()
	if lf == nil {
		return nil
	}
	return func() []dashboard.WorkerInfo {
		ws := lf.Workers()
		out := make([]dashboard.WorkerInfo, len(ws))
		for i, w := range ws {
			out[i] = dashboard.WorkerInfo{ID: w.ID, PID: w.PID, State: string(w.State), Since: w.Since}
		}
		return out
	}
}
