package config

import (
	"fmt"
	"net/url"
	"path"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/policy"
)

// Fleet is one autoscaled fleet: the queue it consumes, its bounds and
// policies, and exactly one section saying where its workers run (Kind).
type Fleet struct {
	// Name identifies the fleet in logs, metrics and the console; default
	// the queue's name (the queues' names joined by "+"). Names are
	// unique in a file.
	Name  string   `yaml:"name"`
	Queue QueueRef `yaml:"queue"`
	// Queues, instead of Queue, are several queues that feed the fleet;
	// QueueCombine says how their readings combine: "sum" (the default)
	// or "worst" (package queueset).
	Queues       []QueueRef `yaml:"queues"`
	QueueCombine string     `yaml:"queueCombine"`
	// Source says how the queues are read beyond GetQueueAttributes
	// (qscale autoscale).
	Source *Source `yaml:"source"`
	// MinCapacity and MaxCapacity bound the fleet; MinCapacity 0 lets it
	// scale to zero (it wakes on the first visible message).
	MinCapacity int `yaml:"minCapacity"`
	MaxCapacity int `yaml:"maxCapacity"`
	// Interval between observations.
	Interval policy.Duration `yaml:"interval"`
	// History is how many decisions are kept in memory.
	History int `yaml:"history"`
	// BusyFloor keeps the fleet at or above the number of workers holding
	// a message, read from their status documents (docs/autoscaling.md,
	// "The busy floor"); default true. false lets a scale-in go below it.
	BusyFloor *bool    `yaml:"busyFloor"`
	Policies  []Policy `yaml:"policies"`
	// CloudWatch, when present, publishes the fleet's backlog per worker
	// to CloudWatch (docs/aws.md).
	CloudWatch *CloudWatch `yaml:"cloudwatch"`
	// Guardrails, when present, cap the changes per period and size the
	// fleet when its queue cannot be read (guardrails.go).
	Guardrails *Guardrails `yaml:"guardrails"`
	// Schedule changes the bounds in recurring windows, and Predict
	// starts workers ahead of recurring load (schedule.go).
	Schedule []ScheduledAction `yaml:"schedule"`
	Predict  *Predict          `yaml:"predict"`
	// LearnedFile keeps what the fleet's autoscaler learned (processing
	// and start-up times) across restarts, relative to the file (package
	// learnedfile). qscale up keeps it in its data directory unless set.
	LearnedFile string `yaml:"learnedFile"`

	// Exactly one of the kinds. Worker is qscale up's shorthand for a
	// local fleet of `qscale worker` processes on its own queue.
	Worker     *Worker     `yaml:"worker"`
	Local      *Local      `yaml:"local"`
	Kubernetes *Kubernetes `yaml:"kubernetes"`
	ECS        *ECS        `yaml:"ecs"`
	ASG        *ASG        `yaml:"asg"`
	Memory     *Memory     `yaml:"memory"`
}

// The fleet kinds, as the sections that name them.
const (
	KindWorker     = "worker"
	KindLocal      = "local"
	KindKubernetes = "kubernetes"
	KindECS        = "ecs"
	KindASG        = "asg"
	KindMemory     = "memory"
)

// Kinds lists every fleet kind a file may give.
var Kinds = []string{KindWorker, KindLocal, KindKubernetes, KindECS, KindASG, KindMemory}

// kinds returns the kinds whose section f sets.
func (f *Fleet) kinds() []string {
	var ks []string
	for _, k := range []struct {
		name string
		set  bool
	}{
		{KindWorker, f.Worker != nil}, {KindLocal, f.Local != nil}, {KindKubernetes, f.Kubernetes != nil},
		{KindECS, f.ECS != nil}, {KindASG, f.ASG != nil}, {KindMemory, f.Memory != nil},
	} {
		if k.set {
			ks = append(ks, k.name)
		}
	}
	return ks
}

// Kind is the kind whose section f sets ("" when none or several; a
// validated fleet has exactly one).
func (f *Fleet) Kind() string {
	if ks := f.kinds(); len(ks) == 1 {
		return ks[0]
	}
	return ""
}

func (f *Fleet) hint(key string) string {
	switch key {
	case "kind", "settings":
		return "a fleet's kind is its section now: write `" + strings.Join(Kinds[1:], ":`, `") + ":` with the settings inside (docs/configuration.md)"
	case "ec2-asg", "ec2":
		return "the EC2 Auto Scaling group fleet's section is `asg:`"
	case "stopGrace":
		return "stopGrace belongs to the worker (or local) section: worker: {stopGrace: 40s}"
	}
	return ""
}

// QueueRef is a queue a fleet consumes: for qscale up the name of one of
// its queues (`queue: jobs`), for qscale autoscale its URL
// (`queue: {url: ..., region: ...}`).
type QueueRef struct {
	// Name of one of qscale up's queues.
	Name string `yaml:"name"`
	// URL is the queue URL, as GetQueueUrl returns it.
	URL string `yaml:"url"`
	// Endpoint overrides the SQS endpoint; default: the URL's scheme and
	// host for non-AWS hosts, the regional AWS endpoint otherwise.
	Endpoint string `yaml:"endpoint"`
	// Region for signing; default (left empty here): the region an AWS
	// queue URL names, else the AWS configuration chain's, else
	// DefaultRegion, as package sqsconn resolves it for every client.
	Region string `yaml:"region"`
}

type queueRefFields QueueRef

// decodeNode takes a plain name or the mapping.
func (q *QueueRef) decodeNode(d *decoder, n *yaml.Node, path string) {
	if n.Kind == yaml.ScalarNode {
		q.Name = n.Value
		return
	}
	d.value(n, reflectValue((*queueRefFields)(q)), path)
}

// QueueName is the queue's name: Name, else the last segment of URL.
func (q QueueRef) QueueName() string {
	if q.Name != "" || q.URL == "" {
		return q.Name
	}
	u, err := url.Parse(q.URL)
	if err != nil {
		return ""
	}
	if n := path.Base(strings.TrimSuffix(u.Path, "/")); n != "." && n != "/" {
		return n
	}
	return ""
}

// Autoscale is the queue as the autoscaler's SQS source takes it.
func (q QueueRef) Autoscale() autoscale.QueueConfig {
	return autoscale.QueueConfig{URL: q.URL, Endpoint: q.Endpoint, Region: q.Region}
}

// Policy is one scaling policy: exactly one of the kinds.
type Policy struct {
	Name string `yaml:"name"`
	// TargetTracking is Application Auto Scaling's
	// TargetTrackingScalingPolicyConfiguration with AWS's field names;
	// TargetTrackingFile names a JSON file of it (relative to the config
	// file), such as the config.json of `aws application-autoscaling
	// put-scaling-policy`.
	TargetTracking     *policy.TargetTrackingConfig `yaml:"targetTracking"`
	TargetTrackingFile string                       `yaml:"targetTrackingFile"`
	// StepScaling is an alarm and a StepScalingPolicyConfiguration with
	// AWS's field names.
	StepScaling *policy.StepScalingSpec `yaml:"stepScaling"`
	// ScaleOnMetric is AWS CDK's shorthand: steps with absolute bounds,
	// split into a scale-in and a scale-out step scaling policy.
	ScaleOnMetric *policy.MetricSteps `yaml:"scaleOnMetric"`
	// Latency is the latency objective.
	Latency *policy.LatencyConfig `yaml:"latency"`
	// Queueing is the queueing policy, qscale's default.
	Queueing *policy.QueueingConfig `yaml:"queueing"`
}

func (p Policy) name(i int) string {
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

// KeepsBusy reports whether the busy floor is on (BusyFloor, default
// true).
func (f *Fleet) KeepsBusy() bool { return f.BusyFloor == nil || *f.BusyFloor }

// Bounds returns MinCapacity..MaxCapacity.
func (f *Fleet) Bounds() policy.Bounds { return policy.Bounds{Min: f.MinCapacity, Max: f.MaxCapacity} }

// BuildPolicies turns the validated policies into policy values. A
// scaleOnMetric entry named n becomes "n/lower" and "n/upper".
func (f *Fleet) BuildPolicies() ([]policy.Policy, error) {
	var ps []policy.Policy
	for i, p := range f.Policies {
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

// StopGrace is how long the fleet's local workers may take to finish what
// they hold when they are stopped (worker: or local:), 0 for other kinds.
func (f *Fleet) StopGrace() time.Duration {
	switch {
	case f.Worker != nil:
		return f.Worker.StopGrace.D()
	case f.Local != nil:
		return f.Local.StopGrace.D()
	}
	return 0
}
