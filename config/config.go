// Package config is qscale's configuration file: one schema for `qscale up`
// (the embedded server, its queues and a local fleet) and `qscale autoscale`
// (a fleet anywhere, sized from a queue anywhere). It decodes YAML or JSON
// with one decoder (Decode) that names the path of every problem, applies
// every default from one place (defaults.go) and validates once. The
// autoscaler core (package autoscale) never sees the file: it takes the
// typed values built from it.
//
// A file lists fleets, each with its queue (or queues), its bounds, its
// policies and exactly one section that says where its workers run:
//
//	fleets:
//	  - queue: {url: https://sqs.eu-west-1.amazonaws.com/123456789012/jobs}
//	    maxCapacity: 10
//	    policies: [{targetTracking: {TargetValue: 100}}]
//	    ecs: {cluster: jobs, service: workers, statusPort: 8081}
//
// Every fleet of the list is sized by a controller of its own; names are
// unique and a queue feeds one fleet, once.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/qscale/qscale/autoscale/policy"
)

// Use says which command reads the file; validation differs only where
// the commands do.
type Use int

const (
	// ForAutoscale: qscale autoscale. Each fleet's queue is a URL; the
	// server, console and queues sections are qscale up's and refused.
	ForAutoscale Use = iota + 1
	// ForUp: qscale up. Each fleet's queue names one of the queues the
	// embedded server holds; its workers run on this machine.
	ForUp
)

func (u Use) String() string {
	if u == ForUp {
		return "qscale up"
	}
	return "qscale autoscale"
}

// Config is the whole file. docs/configuration.md documents every field.
type Config struct {
	// Server, Console and Queues are qscale up's: the embedded queue
	// server, the console for people, and the queues to create.
	Server  Server  `yaml:"server"`
	Console Console `yaml:"console"`
	Queues  []Queue `yaml:"queues"`
	// Fleets are the autoscaled worker fleets, each with its own
	// controller.
	Fleets []Fleet `yaml:"fleets"`
}

// Server is qscale up's embedded queue server (the flags of qscale
// server).
type Server struct {
	Listen   string `yaml:"listen"`
	DataDir  string `yaml:"dataDir"`
	InMemory bool   `yaml:"inMemory"`
	// AccountID in queue URLs and ARNs.
	AccountID string `yaml:"accountId"`
	// Region in queue ARNs, and the workers' signing region.
	Region string `yaml:"region"`
	// AccessKeysFile holds ID:SECRET lines; when set, SQS requests must be
	// signed with one of them (the workers sign with the first).
	AccessKeysFile string `yaml:"accessKeysFile"`
}

// Console is qscale up's HTTP endpoint for people: dashboard, producer
// endpoint and metrics.
type Console struct {
	// Listen is host:port, or "off".
	Listen string `yaml:"listen"`
	// Token protects the console; required beyond loopback. The
	// environment variable QSCALE_CONSOLE_TOKEN overrides it.
	Token string `yaml:"token"`
	// History is how much the dashboard keeps.
	History policy.Duration `yaml:"history"`
}

// Queue is a queue qscale up creates when it is missing, with SQS
// attributes (VisibilityTimeout, RedrivePolicy, FifoQueue, ...) as
// CreateQueue takes them; an existing queue gets the attributes set.
type Queue struct {
	Name       string            `yaml:"name"`
	Attributes map[string]string `yaml:"attributes"`
	Tags       map[string]string `yaml:"tags"`
}

// hint tells where the keys of the single-fleet layout went.
func (c *Config) hint(key string) string {
	switch key {
	case "fleet":
		return "fleets are a list now: write `fleets:` with one entry holding the fleet's queue, bounds, policies and its kind's section (docs/configuration.md)"
	case "queue", "minCapacity", "maxCapacity", "interval", "history", "policies", "cloudwatch":
		return key + " belongs to a fleet now: move it under `fleets: [ ... ]` (docs/configuration.md)"
	}
	return ""
}

// Load reads the file at path for use, with Parse.
func Load(path string, use Use) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	c, err := Parse(data, filepath.Dir(path), use)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Parse decodes a file (Decode), reads the files it names and resolves the
// paths it holds relative to dir, takes the console token from the
// environment, applies the defaults and validates the result for use.
// Every problem is reported at once, each naming its field.
func Parse(data []byte, dir string, use Use) (*Config, error) {
	var c Config
	if err := Decode(data, &c); err != nil {
		return nil, err
	}
	if use == ForAutoscale {
		var errs []error
		if c.Server != (Server{}) {
			errs = append(errs, fe("server", "is qscale up's embedded server; qscale autoscale reads queues by URL"))
		}
		if c.Console != (Console{}) {
			errs = append(errs, fe("console", "is qscale up's; qscale autoscale has no console"))
		}
		if c.Queues != nil {
			errs = append(errs, fe("queues", "are created by qscale up; qscale autoscale reads an existing queue by URL"))
		}
		if len(errs) > 0 {
			return nil, errors.Join(errs...)
		}
	}
	if err := c.readFiles(dir); err != nil {
		return nil, err
	}
	if use == ForUp {
		c.TokenFromEnvironment()
	}
	c = c.WithDefaults()
	if err := c.Validate(use); err != nil {
		return nil, err
	}
	return &c, nil
}

// readFiles reads each policy's targetTrackingFile and makes the data
// directory and the fleets' learned files relative to dir.
func (c *Config) readFiles(dir string) error {
	var errs []error
	for i := range c.Fleets {
		if err := readPolicyFiles(c.Fleets[i].Policies, dir, fmt.Sprintf("fleets[%d].policies", i)); err != nil {
			errs = append(errs, err)
		}
		if f := &c.Fleets[i]; dir != "" && f.LearnedFile != "" && !filepath.IsAbs(f.LearnedFile) {
			f.LearnedFile = filepath.Join(dir, f.LearnedFile)
		}
	}
	if dir != "" && c.Server.DataDir != "" && !filepath.IsAbs(c.Server.DataDir) {
		c.Server.DataDir = filepath.Join(dir, c.Server.DataDir)
	}
	if dir != "" && c.Server.DataDir == "" {
		c.Server.DataDir = filepath.Join(dir, DefaultDataDir)
	}
	return errors.Join(errs...)
}

func fe(path, format string, a ...any) error {
	return &policy.FieldError{Path: path, Msg: fmt.Sprintf(format, a...)}
}

// ConsoleTokenEnv is the environment variable whose value, when set,
// replaces console.token.
const ConsoleTokenEnv = "QSCALE_CONSOLE_TOKEN"

// TokenFromEnvironment sets Console.Token from ConsoleTokenEnv when it is
// set.
func (c *Config) TokenFromEnvironment() {
	if t := os.Getenv(ConsoleTokenEnv); t != "" {
		c.Console.Token = t
	}
}
