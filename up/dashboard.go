package up

import (
	"path/filepath"

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
		Failures:  r.fails.Report,
	})
	if err != nil {
		return nil, err
	}
	state := ""
	if !s.cfg.Server.InMemory && s.cfg.Server.DataDir != "" {
		// The charts and the decision log outlive a restart, with the queues.
		// Each fleet's dashboard keeps its own file.
		state = filepath.Join(s.cfg.Server.DataDir, "dashboard", r.cfg.Name+".gob")
	}
	d, err := dashboard.New(dashboard.Options{
		Backend: be.WithPause(r.ctrl), Clock: s.opts.Clock, Token: s.cfg.Console.Token,
		History: s.cfg.Console.History.D(), Logger: s.log.With("part", "dashboard", "fleet", r.cfg.Name),
		StateFile: state,
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}
