package up

import (
	"github.com/qscale/qscale/dashboard"
	"github.com/qscale/qscale/dashboard/enginebackend"
)

// newDashboard builds the dashboard of one fleet over the engine (every
// queue), the fleet's controller (decisions, pause and resume) and its
// local workers; Start runs its sampler.
func (s *System) newDashboard(r *fleetRun) (*dashboard.Dashboard, error) {
	queue := ""
	if names := r.cfg.QueueNames(); len(names) == 1 {
		queue = names[0]
	}
	be, err := enginebackend.New(enginebackend.Config{
		Engine:    s.srv.Engine,
		Queue:     queue,
		Queues:    r.cfg.QueueNames(),
		Decisions: r.ctrl.Decisions,
		Fleet:     r.fleet,
		Workers: func() []dashboard.WorkerInfo {
			lf := r.fleet.Local()
			if lf == nil {
				return nil
			}
			ws := lf.Workers()
			out := make([]dashboard.WorkerInfo, len(ws))
			for i, w := range ws {
				out[i] = dashboard.WorkerInfo{ID: w.ID, PID: w.PID, State: string(w.State), Since: w.Since}
			}
			return out
		},
		QueueURL: s.QueueURL,
	})
	if err != nil {
		return nil, err
	}
	d, err := dashboard.New(dashboard.Options{
		Backend: be.WithPause(r.ctrl), Clock: s.opts.Clock, Token: s.cfg.Console.Token,
		History: s.cfg.Console.History.D(), Logger: s.log.With("part", "dashboard", "fleet", r.cfg.Name),
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}
