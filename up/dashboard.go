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
		Workers:   r.fleet.Workers(),
		QueueURL:  s.QueueURL,
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
