// Package learnedfile keeps what an autoscaler learned (autoscale.Learned:
// the processing and start-up times) in a small JSON file, so that a
// restarted controller sizes its first episode with them instead of the
// policies' defaults. qscale up keeps one per fleet in its data directory;
// qscale autoscale where fleets[].learnedFile says.
package learnedfile

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

// SaveEvery is the least time between two writes by a Keeper.
const SaveEvery = time.Minute

// Load reads path; "" and a missing file are nothing learned yet, and an
// unreadable one is logged and ignored (the controller learns again).
func Load(path string, log *slog.Logger) autoscale.Learned {
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

// Save writes l to path whole (a new file renamed over the old); "" saves
// nothing.
func Save(path string, l autoscale.Learned) error {
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

// Keeper writes a controller's learned times to a file as its decisions
// show them: when they changed, at most every SaveEvery. Call Observe from
// the controller's OnDecision (one goroutine); a path "" writes nothing.
type Keeper struct {
	path    string
	log     *slog.Logger
	cur     autoscale.Learned // what the decisions showed last
	saved   autoscale.Learned
	savedAt time.Time
}

// NewKeeper returns a Keeper of path that starts from what was loaded
// (written again only once something changes).
func NewKeeper(path string, loaded autoscale.Learned, log *slog.Logger) *Keeper {
	return &Keeper{path: path, log: log, cur: loaded, saved: loaded}
}

// Path is the file the Keeper writes.
func (k *Keeper) Path() string { return k.path }

// Observe folds a decision's processing and start-up times in and writes
// them when they changed and the last write is SaveEvery old.
func (k *Keeper) Observe(d autoscale.Decision) {
	if pt := d.Observation.Queue.ProcessingTime; pt > 0 {
		k.cur.ProcessingTime = pt
	}
	if st := d.Observation.StartupTime; st > 0 {
		k.cur.StartupTime = st
	}
	if k.path == "" || k.cur == k.saved || d.Time.Sub(k.savedAt) < SaveEvery {
		return
	}
	if err := Save(k.path, k.cur); err != nil {
		k.log.Warn("cannot keep what the autoscaler learned", "file", k.path, "err", err)
	}
	k.saved, k.savedAt = k.cur, d.Time
}
