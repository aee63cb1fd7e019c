package up

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/qscale/qscale/autoscale"
)

// A fleet's controller keeps what it learned (the processing and start-up
// times) in <dataDir>/autoscaler/FLEET.json, so that a restart of qscale
// up sizes its first burst with them instead of the policies' defaults.
// The file is written when the values change, at most once a minute, and
// when the fleet's autoscaler stops.

// learnedSaveEvery is the least time between two writes while running.
const learnedSaveEvery = time.Minute

// learnedFile returns the fleet's file, "" when nothing is kept (in
// memory).
func (s *System) learnedFile(fleet string) string {
	if s.cfg.Server.InMemory || s.cfg.Server.DataDir == "" {
		return ""
	}
	return filepath.Join(s.cfg.Server.DataDir, "autoscaler", fleet+".json")
}

// loadLearned reads path; a missing file is nothing learned yet, and an
// unreadable one is logged and ignored (the controller learns again).
func loadLearned(path string, log *slog.Logger) autoscale.Learned {
	var l autoscale.Learned
	if path == "" {
		return l
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return l
	}
	var f learnedJSON
	if err == nil {
		err = json.Unmarshal(b, &f)
	}
	if err == nil {
		l, err = f.learned()
	}
	if err != nil {
		log.Warn("ignoring what the autoscaler learned before; it learns again", "file", path, "err", err)
		return autoscale.Learned{}
	}
	return l
}

// saveLearned writes l to path whole (a new file renamed over the old).
func saveLearned(path string, l autoscale.Learned) error {
	if path == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.Marshal(learnedJSON{ProcessingTime: durationText(l.ProcessingTime), StartupTime: durationText(l.StartupTime)})
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// learnedJSON is the file's form: durations as Go writes them ("150ms").
type learnedJSON struct {
	ProcessingTime string `json:"processingTime,omitempty"`
	StartupTime    string `json:"startupTime,omitempty"`
}

func durationText(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return d.String()
}

func (f learnedJSON) learned() (autoscale.Learned, error) {
	var l autoscale.Learned
	for _, x := range []struct {
		name, text string
		to         *time.Duration
	}{{"processingTime", f.ProcessingTime, &l.ProcessingTime}, {"startupTime", f.StartupTime, &l.StartupTime}} {
		if x.text == "" {
			continue
		}
		d, err := time.ParseDuration(x.text)
		if err != nil || d < 0 {
			return autoscale.Learned{}, fmt.Errorf("%s: %q is not a duration such as 150ms", x.name, x.text)
		}
		*x.to = d
	}
	return l, nil
}

// learnedKeeper writes a fleet's learned times as decisions show them. It
// is called from the controller's tick goroutine only.
type learnedKeeper struct {
	path    string
	log     *slog.Logger
	cur     autoscale.Learned // what the decisions showed last
	saved   autoscale.Learned
	savedAt time.Time
}

// observe folds a decision's processing and start-up times in and writes
// them when they changed and the last write is a minute old.
func (k *learnedKeeper) observe(d autoscale.Decision) {
	if pt := d.Observation.Queue.ProcessingTime; pt > 0 {
		k.cur.ProcessingTime = pt
	}
	if st := d.Observation.StartupTime; st > 0 {
		k.cur.StartupTime = st
	}
	if k.path == "" || k.cur == k.saved || d.Time.Sub(k.savedAt) < learnedSaveEvery {
		return
	}
	if err := saveLearned(k.path, k.cur); err != nil {
		k.log.Warn("cannot keep what the autoscaler learned", "file", k.path, "err", err)
	}
	k.saved, k.savedAt = k.cur, d.Time
}
