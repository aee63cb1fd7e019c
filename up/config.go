package up

import "github.com/qscale/qscale/config"

// LoadConfig reads qscale up's configuration file at path (package
// config, for config.ForUp); an empty path gives the quickstart
// (config.Quickstart), which runs without a file.
func LoadConfig(path string) (*config.Config, error) {
	if path == "" {
		c := config.Quickstart()
		c.TokenFromEnvironment()
		return c, c.Validate(config.ForUp)
	}
	return config.Load(path, config.ForUp)
}

// ParseConfig is LoadConfig for a file's content; paths it names are
// relative to dir.
func ParseConfig(data []byte, dir string) (*config.Config, error) {
	return config.Parse(data, dir, config.ForUp)
}
