package up

import (
	"path/filepath"

	"github.com/qscale/qscale/dashboard"
	"github.com/qscale/qscale/dashboard/enginebackend"
)

// newDashboard builds the dashboard over the engine, the controller and the
// local fleet; Start runs its sampler.
func (s *System) newDashboard() (*dashboard.Dashboard, error) {
	be, err := enginebackend.New(enginebackend.Config{
		Engine:    s.srv.Engine,
		Queue:     s.cfg.Fleets[0].Queue.Name,
		Decisions: s.ctrl.Decisions,
		Fleet:     s.fleet,
		Workers: func() []dashboard.WorkerInfo {
			lf := s.fleet.Local()
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
		Failures: s.fails.Report,
	})
	if err != nil {
		return nil, err
	}
	state := ""
	if !s.cfg.Server.InMemory && s.cfg.Server.DataDir != "" {
		// The charts and the decision log outlive a restart, with the queues.
		state = filepath.Join(s.cfg.Server.DataDir, "dashboard", "state.gob")
	}
	d, err := dashboard.New(dashboard.Options{
		Backend: be, Clock: s.opts.Clock, Token: s.cfg.Console.Token,
		History: s.cfg.Console.History.D(), Logger: s.log.With("part", "dashboard"),
		StateFile: state,
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}
