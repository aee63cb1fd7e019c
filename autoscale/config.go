package autoscale

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/qscale/qscale/autoscale/policy"
)

// Config is the autoscaler's configuration file: YAML, or JSON (which YAML
// reads as it is). docs/autoscaling.md documents every field.
type Config struct {
	Queue QueueConfig `yaml:"queue" json:"queue"`
	Fleet FleetConfig `yaml:"fleet" json:"fleet"`
	// MinCapacity and MaxCapacity bound the fleet; MinCapacity 0 lets it
	// scale to zero (it wakes on the first visible message).
	MinCapacity int `yaml:"minCapacity" json:"minCapacity"`
	MaxCapacity int `yaml:"maxCapacity" json:"maxCapacity"`
	// Interval between observations; default 1s.
	Interval policy.Duration `yaml:"interval,omitempty" json:"interval,omitempty"`
	// History is how many decisions are kept in memory; default 1000.
	History  int            `yaml:"history,omitempty" json:"history,omitempty"`
	Policies []PolicyConfig `yaml:"policies" json:"policies"`
	// CloudWatch, when present, publishes backlog per worker to CloudWatch
	// each period, as seed 000's script did, for users who keep AWS's own
	// scaling as well (keys in docs/aws.md). Kept raw for the publisher to
	// decode.
	CloudWatch map[string]any `yaml:"cloudwatch,omitempty" json:"cloudwatch,omitempty"`
}

// QueueConfig names the queue to observe.
type QueueConfig struct {
	// URL is the queue URL, as GetQueueUrl returns it.
	URL string `yaml:"url" json:"url"`
	// Endpoint overrides the SQS endpoint (the embedded server, moto);
	// default: the URL's scheme and host for non-AWS hosts, the regional
	// AWS endpoint otherwise.
	Endpoint string `yaml:"endpoint,omitempty" json:"endpoint,omitempty"`
	// Region for signing; default us-east-1.
	Region string `yaml:"region,omitempty" json:"region,omitempty"`
}

// FleetConfig names the fleet target. Settings are the kind's own, kept raw
// for the fleet implementation to decode.
type FleetConfig struct {
	Kind     string         `yaml:"kind" json:"kind"`
	Settings map[string]any `yaml:"settings,omitempty" json:"settings,omitempty"`
}

// PolicyConfig is one policy: exactly one of the kinds.
type PolicyConfig struct {
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	// TargetTracking is Application Auto Scaling's
	// TargetTrackingScalingPolicyConfiguration with AWS's field names;
	// TargetTrackingFile names a JSON file of it (relative to the config
	// file), such as the config.json of `aws application-autoscaling
	// put-scaling-policy`.
	TargetTracking     *policy.TargetTrackingConfig `yaml:"targetTracking,omitempty" json:"targetTracking,omitempty"`
	TargetTrackingFile string                       `yaml:"targetTrackingFile,omitempty" json:"targetTrackingFile,omitempty"`
	// StepScaling is an alarm and a StepScalingPolicyConfiguration with
	// AWS's field names.
	StepScaling *policy.StepScalingSpec `yaml:"stepScaling,omitempty" json:"stepScaling,omitempty"`
	// ScaleOnMetric is AWS CDK's shorthand: steps with absolute bounds,
	// split into a scale-in and a scale-out step scaling policy.
	ScaleOnMetric *policy.MetricSteps `yaml:"scaleOnMetric,omitempty" json:"scaleOnMetric,omitempty"`
	// Latency is the latency objective.
	Latency *policy.LatencyConfig `yaml:"latency,omitempty" json:"latency,omitempty"`
	// Queueing is the queueing policy, qscale's default.
	Queueing *policy.QueueingConfig `yaml:"queueing,omitempty" json:"queueing,omitempty"`
}

// LoadConfig reads and validates the configuration file at path.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("autoscale config: %w", err)
	}
	c, err := ParseConfig(data, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ParseConfig decodes a configuration (YAML or JSON; unknown fields are
// errors), reads the files it names relative to dir, applies defaults and
// validates it.
func ParseConfig(data []byte, dir string) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if err := ReadPolicyFiles(c.Policies, dir, "policies"); err != nil {
		return nil, err
	}
	if c.Interval == 0 {
		c.Interval = policy.Duration(time.Second)
	}
	if c.History == 0 {
		c.History = 1000
	}
	if c.Queue.Region == "" {
		c.Queue.Region = "us-east-1"
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

func fe(path, format string, a ...any) error {
	return &policy.FieldError{Path: path, Msg: fmt.Sprintf(format, a...)}
}

// Validate reports every problem, each as a *policy.FieldError naming the
// field's path.
func (c *Config) Validate() error {
	var errs []error
	if c.Queue.URL == "" {
		errs = append(errs, fe("queue.url", "is required (the queue URL, e.g. http://127.0.0.1:9324/000000000000/jobs)"))
	} else if u, err := url.Parse(c.Queue.URL); err != nil || u.Scheme == "" || u.Host == "" {
		errs = append(errs, fe("queue.url", "%q is not an absolute URL", c.Queue.URL))
	}
	if c.Queue.Endpoint != "" {
		if u, err := url.Parse(c.Queue.Endpoint); err != nil || u.Scheme == "" || u.Host == "" {
			errs = append(errs, fe("queue.endpoint", "%q is not an absolute URL", c.Queue.Endpoint))
		}
	}
	if c.Fleet.Kind == "" {
		errs = append(errs, fe("fleet.kind", "is required (memory, local, kubernetes, ecs or ec2)"))
	}
	if c.MinCapacity < 0 {
		errs = append(errs, fe("minCapacity", "must be 0 or more, got %d", c.MinCapacity))
	}
	if c.MaxCapacity < 1 {
		errs = append(errs, fe("maxCapacity", "must be 1 or more, got %d", c.MaxCapacity))
	} else if c.MaxCapacity < c.MinCapacity {
		errs = append(errs, fe("maxCapacity", "%d is below minCapacity %d", c.MaxCapacity, c.MinCapacity))
	}
	if c.Interval.D() < 100*time.Millisecond {
		errs = append(errs, fe("interval", "must be at least 100ms, got %s", c.Interval))
	}
	if c.History < 0 {
		errs = append(errs, fe("history", "must be 1 or more, got %d", c.History))
	}
	if len(c.Policies) == 0 {
		errs = append(errs, fe("policies", "needs at least one policy"))
	}
	names := map[string]int{}
	for i, p := range c.Policies {
		path := fmt.Sprintf("policies[%d]", i)
		kinds := 0
		for _, set := range []bool{p.TargetTracking != nil, p.StepScaling != nil, p.ScaleOnMetric != nil, p.Latency != nil, p.Queueing != nil} {
			if set {
				kinds++
			}
		}
		if kinds != 1 {
			errs = append(errs, fe(path, "give exactly one of targetTracking (or targetTrackingFile), stepScaling, scaleOnMetric, latency and queueing; got %d", kinds))
			continue
		}
		name := p.name(i)
		if j, dup := names[name]; dup {
			errs = append(errs, fe(path+".name", "%q is already the name of policies[%d]", name, j))
		}
		names[name] = i
		var err error
		switch {
		case p.TargetTracking != nil:
			err = policy.Prefix(path+".targetTracking", p.TargetTracking.Validate())
		case p.StepScaling != nil:
			err = policy.Prefix(path+".stepScaling", p.StepScaling.Validate())
		case p.ScaleOnMetric != nil:
			_, _, e := p.ScaleOnMetric.Specs()
			err = policy.Prefix(path+".scaleOnMetric", e)
		case p.Latency != nil:
			err = policy.Prefix(path+".latency", p.Latency.Validate())
		case p.Queueing != nil:
			err = policy.Prefix(path+".queueing", p.Queueing.Validate())
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (p PolicyConfig) name(i int) string {
	if p.Name != "" {
		return p.Name
	}
	switch {
	case p.TargetTracking != nil:
		return fmt.Sprintf("target-tracking-%d", i)
	case p.StepScaling != nil:
		return fmt.Sprintf("step-scaling-%d", i)
	case p.ScaleOnMetric != nil:
		return fmt.Sprintf("scale-on-metric-%d", i)
	case p.Queueing != nil:
		return fmt.Sprintf("queueing-%d", i)
	}
	return fmt.Sprintf("latency-%d", i)
}

// Bounds returns MinCapacity..MaxCapacity.
func (c *Config) Bounds() policy.Bounds { return policy.Bounds{Min: c.MinCapacity, Max: c.MaxCapacity} }

// BuildPolicies turns the validated configuration into policies. A
// scaleOnMetric entry named n becomes "n/lower" and "n/upper".
func (c *Config) BuildPolicies() ([]policy.Policy, error) {
	var ps []policy.Policy
	for i, p := range c.Policies {
		name := p.name(i)
		switch {
		case p.TargetTracking != nil:
			tt, err := policy.NewTargetTracking(name, *p.TargetTracking)
			if err != nil {
				return nil, err
			}
			ps = append(ps, tt)
		case p.StepScaling != nil:
			s, err := policy.NewStepScaling(name, *p.StepScaling)
			if err != nil {
				return nil, err
			}
			ps = append(ps, s)
		case p.ScaleOnMetric != nil:
			names, specs, err := p.ScaleOnMetric.Specs()
			if err != nil {
				return nil, err
			}
			for j := range specs {
				s, err := policy.NewStepScaling(name+"/"+names[j], specs[j])
				if err != nil {
					return nil, err
				}
				ps = append(ps, s)
			}
		case p.Latency != nil:
			l, err := policy.NewLatency(name, *p.Latency)
			if err != nil {
				return nil, err
			}
			ps = append(ps, l)
		case p.Queueing != nil:
			q, err := policy.NewQueueing(name, *p.Queueing)
			if err != nil {
				return nil, err
			}
			ps = append(ps, q)
		}
	}
	return ps, nil
}

// ReadPolicyFiles reads the targetTrackingFile of every policy that names
// one (relative to dir) into its TargetTracking. field is the policies'
// path in the file ("policies"), for the errors.
func ReadPolicyFiles(ps []PolicyConfig, dir, field string) error {
	for i := range ps {
		p := &ps[i]
		if p.TargetTrackingFile == "" || p.TargetTracking != nil {
			continue
		}
		path := p.TargetTrackingFile
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("%s[%d].targetTrackingFile: %w", field, i, err)
		}
		tt, err := policy.ParseTargetTracking(b)
		if err != nil {
			return policy.Prefix(fmt.Sprintf("%s[%d].targetTrackingFile(%s)", field, i, p.TargetTrackingFile), err)
		}
		p.TargetTracking = &tt
	}
	return nil
}
