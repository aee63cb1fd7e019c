package dashboard

import (
	"errors"
	"net/http"
)

// ErrUnsupported is returned (wrapped) by a Backend for an action it does
// not have, such as Send or Purge over a queue qscale does not hold: 501.
var ErrUnsupported = errors.New("not supported here")

// Features say which of the page's parts a Backend supports. The page
// hides the others.
type Features struct {
	// Send and Purge: the test-message form and the purge buttons.
	Send  bool `json:"send"`
	Purge bool `json:"purge"`
	// Counters: the Sample's sent/received/deleted counters are real, so
	// the throughput chart means something.
	Counters bool `json:"counters"`
	// Pause: the autoscaler can be paused and resumed (Pauser).
	Pause bool `json:"pause"`
}

// FeatureReporter is a Backend that lacks some of the page's parts. A
// Backend that does not implement it has them all, except Pause, which
// needs Pauser.
type FeatureReporter interface {
	Features() Features
}

// Pauser is a Backend whose autoscaler can be paused: it goes on observing
// and explaining, and changes nothing (autoscale.Controller.Pause).
type Pauser interface {
	Pause(by string)
	Resume()
	Paused() (paused bool, by string)
}

// Control is the body of GET /api/control.
type Control struct {
	Features Features `json:"features"`
	Paused   bool     `json:"paused"`
	PausedBy string   `json:"pausedBy,omitempty"`
}

func (d *Dashboard) features() Features {
	f := Features{Send: true, Purge: true, Counters: true}
	if fr, ok := d.o.Backend.(FeatureReporter); ok {
		f = fr.Features()
	}
	_, f.Pause = d.o.Backend.(Pauser)
	return f
}

func (d *Dashboard) control() Control {
	c := Control{Features: d.features()}
	if p, ok := d.o.Backend.(Pauser); ok {
		c.Paused, c.PausedBy = p.Paused()
	}
	return c
}

func (d *Dashboard) serveControl(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, d.control())
}

// servePause serves POST /api/pause and /api/resume.
func (d *Dashboard) servePause(pause bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := d.o.Backend.(Pauser)
		if !ok {
			writeError(w, http.StatusNotImplemented, "this dashboard has no autoscaler to pause")
			return
		}
		if err := decodePurge(r.Body); err != nil { // no body, or {}
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		if pause {
			p.Pause("the console")
			d.o.Logger.Info("autoscaler paused from the console", "remote", r.RemoteAddr)
		} else {
			p.Resume()
			d.o.Logger.Info("autoscaler resumed from the console", "remote", r.RemoteAddr)
		}
		writeJSON(w, http.StatusOK, d.control())
	}
}
