package up

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/qscale/qscale/config"
	"github.com/qscale/qscale/worker"
)

// CheckHandlers verifies that each fleet's handler command (worker:
// command) exists and is executable where its workers run it: in
// worker.dir, else in qscale's working directory. configDir is the
// configuration file's directory ("" for none): when the command is
// missing where the workers look but sits beside the file, the error says
// so. qscale up --check calls it; qscale up warns with it and starts
// anyway (the handler may appear later), and its failures then show.
func CheckHandlers(cfg *config.Config, configDir string) error {
	var errs []error
	for i, f := range cfg.Fleets {
		if f.Worker == nil || len(f.Worker.Command) == 0 {
			continue
		}
		name := f.Worker.Command[0]
		dir, err := filepath.Abs(f.Worker.Dir)
		if err != nil {
			errs = append(errs, fmt.Errorf("fleets[%d].worker.dir: %w", i, err))
			continue
		}
		if _, err := worker.LookCommand(name, dir); err != nil {
			hint := ""
			if configDir != "" && !filepath.IsAbs(name) && filepath.Base(name) != name {
				if abs, aerr := filepath.Abs(configDir); aerr == nil && abs != dir {
					if p, err := worker.LookCommand(name, abs); err == nil {
						hint = fmt.Sprintf(" (the workers run in %s; %s exists beside the configuration file: set worker.dir: %s, or run qscale up from there)", dir, p, abs)
					}
				}
			}
			errs = append(errs, fmt.Errorf("fleets[%d].worker.command: %w%s", i, err, hint))
		}
	}
	return errors.Join(errs...)
}
