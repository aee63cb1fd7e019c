package up

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/policy"
)

// Config is qscale up's configuration file (YAML, or JSON). docs/up.md
// documents every field; Quickstart is what runs without a file.
type Config struct {
	Server  ServerConfig  `yaml:"server" json:"server"`
	Console ConsoleConfig `yaml:"console" json:"console"`
	// Queues are created at start when missing; the attributes of an
	// existing queue are set to the ones given.
	Queues []QueueConfig `yaml:"queues" json:"queues"`
	// Fleet is the autoscaled worker fleet of one of the queues.
	Fleet FleetConfig `yaml:"fleet" json:"fleet"`
}

// ServerConfig is the embedded queue server's (flags as for qscale server).
type ServerConfig struct {
	// Listen is the SQS endpoint's address; default 127.0.0.1:9324.
	Listen string `yaml:"listen,omitempty" json:"listen,omitempty"`
	// DataDir keeps the queues; default ./qscale-data.
	DataDir  string `yaml:"dataDir,omitempty" json:"dataDir,omitempty"`
	InMemory bool   `yaml:"inMemory,omitempty" json:"inMemory,omitempty"`
	// AccountID in queue URLs; default 000000000000.
	AccountID string `yaml:"accountId,omitempty" json:"accountId,omitempty"`
	Region    string `yaml:"region,omitempty" json:"region,omitempty"`
	// AccessKeysFile holds ID:SECRET lines; when set, SQS requests must be
	// signed with one of them (the workers sign with the first).
	AccessKeysFile string `yaml:"accessKeysFile,omitempty" json:"accessKeysFile,omitempty"`
}

// ConsoleConfig is the HTTP endpoint for people: dashboard, producer
// endpoint and metrics.
type ConsoleConfig struct {
	// Listen defaults to 127.0.0.1:9325. "off" disables the console.
	Listen string `yaml:"listen,omitempty" json:"listen,omitempty"`
	// Token protects the console; required when Listen is not a loopback
	// address. The environment variable QSCALE_CONSOLE_TOKEN overrides it.
	Token string `yaml:"token,omitempty" json:"token,omitempty"`
	// History is how much the dashboard keeps; default 24h.
	History policy.Duration `yaml:"history,omitempty" json:"history,omitempty"`
}

// QueueConfig is a queue to create: its name and SQS attributes
// (VisibilityTimeout, RedrivePolicy, FifoQueue, ...), as CreateQueue takes
// them.
type QueueConfig struct {
	Name       string            `yaml:"name" json:"name"`
	Attributes map[string]string `yaml:"attributes,omitempty" json:"attributes,omitempty"`
	Tags       map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
}

// FleetConfig is the local worker fleet and its autoscaling.
type FleetConfig struct {
	// Queue names the queue the workers consume (one of Queues).
	Queue string `yaml:"queue" json:"queue"`
	// Worker is what each worker process runs.
	Worker WorkerConfig `yaml:"worker" json:"worker"`
	// MinCapacity and MaxCapacity bound the fleet; 0 lets it scale to zero.
	MinCapacity int `yaml:"minCapacity" json:"minCapacity"`
	MaxCapacity int `yaml:"maxCapacity" json:"maxCapacity"`
	// Interval between observations; default 1s.
	Interval policy.Duration `yaml:"interval,omitempty" json:"interval,omitempty"`
	// StopGrace is how long a stopped worker may take to finish what it
	// holds before it is killed; default 30s.
	StopGrace policy.Duration `yaml:"stopGrace,omitempty" json:"stopGrace,omitempty"`
	// Policies as in qscale autoscale's configuration.
	Policies []autoscale.PolicyConfig `yaml:"policies" json:"policies"`
}

// WorkerConfig is one of: Command (run per message), HTTP (POST to a local
// application, optionally started by HTTPStart) or Demo (the built-in
// handler that takes Demo per message). Flags are passed to qscale worker
// as they are (e.g. ["--concurrency", "4", "--timeout", "1m"]).
type WorkerConfig struct {
	Command   []string          `yaml:"command,omitempty" json:"command,omitempty"`
	HTTP      string            `yaml:"http,omitempty" json:"http,omitempty"`
	HTTPStart string            `yaml:"httpStart,omitempty" json:"httpStart,omitempty"`
	Demo      policy.Duration   `yaml:"demo,omitempty" json:"demo,omitempty"`
	Flags     []string          `yaml:"flags,omitempty" json:"flags,omitempty"`
	Env       map[string]string `yaml:"env,omitempty" json:"env,omitempty"`
	Dir       string            `yaml:"dir,omitempty" json:"dir,omitempty"`
}

// Quickstart is the configuration qscale up runs without a file: the
// seeds' scenario. One queue, demo, with a dead-letter queue; workers with
// the 10 ms demo handler; zero to ten of them, sized by the queueing policy
// to keep every wait under 1 s (100 messages per worker at 10 ms each).
func Quickstart() *Config {
	return &Config{
		Queues: []QueueConfig{
			{Name: "demo-dlq"},
			{Name: "demo", Attributes: map[string]string{
				"VisibilityTimeout": "30",
				"RedrivePolicy":     `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:demo-dlq","maxReceiveCount":"5"}`,
			}},
		},
		Fleet: FleetConfig{
			Queue:       "demo",
			Worker:      WorkerConfig{Demo: policy.Duration(10 * time.Millisecond)},
			MinCapacity: 0,
			MaxCapacity: 10,
			Policies: []autoscale.PolicyConfig{{
				Name:     "wait",
				Queueing: &policy.QueueingConfig{AcceptableWait: policy.Duration(time.Second)},
			}},
		},
	}
}

// LoadConfig reads the file at path; an empty path gives the Quickstart.
func LoadConfig(path string) (*Config, error) {
	if path == "" {
		c := Quickstart()
		return c, c.finish("")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	c, err := ParseConfig(data, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ParseConfig decodes a configuration (unknown fields are errors), applies
// defaults and validates it; files it names are relative to dir.
func ParseConfig(data []byte, dir string) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return &c, c.finish(dir)
}

// finish applies defaults and validates.
func (c *Config) finish(dir string) error {
	if c.Server.Listen == "" {
		c.Server.Listen = "127.0.0.1:9324"
	}
	if c.Server.DataDir == "" {
		c.Server.DataDir = "qscale-data"
	}
	if dir != "" && !filepath.IsAbs(c.Server.DataDir) {
		c.Server.DataDir = filepath.Join(dir, c.Server.DataDir)
	}
	if c.Server.AccountID == "" {
		c.Server.AccountID = "000000000000"
	}
	if c.Server.Region == "" {
		c.Server.Region = "us-east-1"
	}
	if c.Console.Listen == "" {
		c.Console.Listen = "127.0.0.1:9325"
	}
	if t := os.Getenv("QSCALE_CONSOLE_TOKEN"); t != "" {
		c.Console.Token = t
	}
	if c.Console.History == 0 {
		c.Console.History = policy.Duration(24 * time.Hour)
	}
	if c.Fleet.Interval == 0 {
		c.Fleet.Interval = policy.Duration(time.Second)
	}
	if c.Fleet.StopGrace == 0 {
		c.Fleet.StopGrace = policy.Duration(30 * time.Second)
	}
	if err := autoscale.ReadPolicyFiles(c.Fleet.Policies, dir, "fleet.policies"); err != nil {
		return err
	}
	return c.Validate()
}

func fe(path, format string, a ...any) error {
	return &policy.FieldError{Path: path, Msg: fmt.Sprintf(format, a...)}
}

// Validate reports every problem of c, each naming its field.
func (c *Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Server.Listen); err != nil {
		errs = append(errs, fe("server.listen", "%q: want host:port", c.Server.Listen))
	}
	if c.Console.Listen != "off" {
		host, _, err := net.SplitHostPort(c.Console.Listen)
		switch {
		case err != nil:
			errs = append(errs, fe("console.listen", "%q: want host:port or off", c.Console.Listen))
		case !isLoopback(host) && c.Console.Token == "":
			errs = append(errs, fe("console.token", "is required when the console listens on %s, beyond this machine (or set QSCALE_CONSOLE_TOKEN)", c.Console.Listen))
		}
	}
	if c.Console.History.D() < time.Minute {
		errs = append(errs, fe("console.history", "must be at least 1m, got %s", c.Console.History))
	}
	names := map[string]bool{}
	for i, q := range c.Queues {
		switch {
		case q.Name == "":
			errs = append(errs, fe(fmt.Sprintf("queues[%d].name", i), "is required"))
		case names[q.Name]:
			errs = append(errs, fe(fmt.Sprintf("queues[%d].name", i), "%q is listed twice", q.Name))
		}
		names[q.Name] = true
	}
	f := c.Fleet
	if f.Queue == "" {
		errs = append(errs, fe("fleet.queue", "is required (the name of one of queues)"))
	} else if !names[f.Queue] {
		errs = append(errs, fe("fleet.queue", "%q is not one of queues", f.Queue))
	}
	kinds := 0
	for _, set := range []bool{len(f.Worker.Command) > 0, f.Worker.HTTP != "", f.Worker.Demo > 0} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		errs = append(errs, fe("fleet.worker", "give exactly one of command, http and demo"))
	}
	if f.Worker.HTTPStart != "" && f.Worker.HTTP == "" {
		errs = append(errs, fe("fleet.worker.httpStart", "needs fleet.worker.http"))
	}
	if f.Worker.Demo < 0 {
		errs = append(errs, fe("fleet.worker.demo", "must not be negative"))
	}
	for _, fl := range f.Worker.Flags {
		for _, own := range []string{"--queue-url", "-queue-url", "--endpoint-url", "-endpoint-url", "--status-addr", "-status-addr", "--status-file", "-status-file"} {
			if fl == own || len(fl) > len(own) && fl[:len(own)+1] == own+"=" {
				errs = append(errs, fe("fleet.worker.flags", "%s is set by qscale up itself", own))
			}
		}
	}
	if f.StopGrace.D() < 0 {
		errs = append(errs, fe("fleet.stopGrace", "must not be negative"))
	}
	// The autoscaling part is validated as qscale autoscale's own
	// configuration, so both report the same errors.
	ac := c.autoscaleConfig("http://127.0.0.1/000000000000/" + f.Queue)
	if err := ac.Validate(); err != nil {
		errs = append(errs, policy.Prefix("fleet", err))
	}
	return errors.Join(errs...)
}

// autoscaleConfig is the fleet's autoscaling as qscale autoscale's
// configuration.
func (c *Config) autoscaleConfig(queueURL string) *autoscale.Config {
	return &autoscale.Config{
		Queue:       autoscale.QueueConfig{URL: queueURL, Region: c.Server.Region},
		Fleet:       autoscale.FleetConfig{Kind: "local"},
		MinCapacity: c.Fleet.MinCapacity,
		MaxCapacity: c.Fleet.MaxCapacity,
		Interval:    c.Fleet.Interval,
		History:     1000,
		Policies:    c.Fleet.Policies,
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
