package up

import (
	"path/filepath"

	"github.com/qscale/qscale/config"
)

// learnedFile returns where the fleet's autoscaler keeps what it learned
// (package learnedfile): its learnedFile, else <dataDir>/autoscaler/FLEET.json;
// "" when nothing is kept (in memory).
func (s *System) learnedFile(fc config.Fleet) string {
	if fc.LearnedFile != "" {
		return fc.LearnedFile
	}
	if s.cfg.Server.InMemory || s.cfg.Server.DataDir == "" {
		return ""
	}
	return filepath.Join(s.cfg.Server.DataDir, "autoscaler", fc.Name+".json")
}
