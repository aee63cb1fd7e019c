package config

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/qscale/qscale/autoscale/policy"
)

// Worker is qscale up's shorthand for a local fleet of `qscale worker`
// processes on the fleet's queue: exactly one of Command (run per message),
// HTTP (POST to a local application, optionally started by HTTPStart) and
// Demo (the built-in handler that takes Demo per message). Flags go to
// qscale worker as they are (e.g. ["--concurrency", "4"]).
type Worker struct {
	Command   []string          `yaml:"command"`
	HTTP      string            `yaml:"http"`
	HTTPStart string            `yaml:"httpStart"`
	Demo      policy.Duration   `yaml:"demo"`
	Flags     []string          `yaml:"flags"`
	Env       map[string]string `yaml:"env"`
	Dir       string            `yaml:"dir"`
	// StopGrace: as Local.StopGrace.
	StopGrace policy.Duration `yaml:"stopGrace"`
}

// Local is a fleet of worker processes on this machine
// (autoscale/localfleet).
type Local struct {
	// Command is the worker's argv; "qscale" as its first element runs
	// the qscale binary itself.
	Command []string `yaml:"command"`
	// Env is added to qscale's own environment for every worker.
	Env Env `yaml:"env"`
	// Dir is the workers' working directory; default qscale's.
	Dir string `yaml:"dir"`
	// StatusDir holds the workers' status files; default a temporary
	// directory removed at stop.
	StatusDir string `yaml:"statusDir"`
	// MaxWorkers bounds the desired count; default the fleet's
	// maxCapacity.
	MaxWorkers        int             `yaml:"maxWorkers"`
	StartTimeout      policy.Duration `yaml:"startTimeout"`
	StopGrace         policy.Duration `yaml:"stopGrace"`
	RestartBackoff    policy.Duration `yaml:"restartBackoff"`
	MaxRestartBackoff policy.Duration `yaml:"maxRestartBackoff"`
}

// Env is a list of NAME=value, written as a mapping {NAME: value} (taken
// in name order) or as a list of NAME=value.
type Env []string

func (e *Env) decodeNode(d *decoder, n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.MappingNode:
		var m map[string]string
		d.value(n, reflectValue(&m), path)
		names := make([]string, 0, len(m))
		for k := range m {
			names = append(names, k)
		}
		sort.Strings(names)
		out := Env{}
		for _, k := range names {
			if k == "" || strings.Contains(k, "=") {
				d.fail(join(path, k), "%q is not a variable name", k)
				continue
			}
			out = append(out, k+"="+m[k])
		}
		*e = out
	case yaml.SequenceNode:
		var list []string
		d.value(n, reflectValue(&list), path)
		for i, kv := range list {
			if j := strings.IndexByte(kv, '='); j <= 0 {
				d.fail(fmt.Sprintf("%s[%d]", path, i), "%q: want NAME=value", kv)
			}
		}
		*e = list
	default:
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
			return
		}
		d.fail(path, "want a mapping of NAME: value or a list of NAME=value, got %s", describe(n))
	}
}

// Kubernetes is a Deployment or StatefulSet sized through its scale
// subresource (autoscale/k8sfleet; docs/kubernetes.md).
type Kubernetes struct {
	// Deployment or StatefulSet names the workload: exactly one.
	Deployment  string `yaml:"deployment"`
	StatefulSet string `yaml:"statefulset"`
	// Namespace; default the kubeconfig context's, in a pod its own.
	Namespace string `yaml:"namespace"`
	// Kubeconfig; default in-cluster, else $KUBECONFIG or ~/.kube/config.
	Kubeconfig string `yaml:"kubeconfig"`
	// Context; default the kubeconfig's current one.
	Context string `yaml:"context"`
	// StatusPort is the workers' --status-addr port.
	StatusPort int `yaml:"statusPort"`
	// QPS is the client's rate limit, requests per second.
	QPS float64 `yaml:"qps"`
	// LeaderElection, when present, lets several qscale autoscale
	// processes run for this fleet: only the holder of a Lease scales it.
	LeaderElection *LeaderElection `yaml:"leaderElection"`
}

// LeaderElection is a coordination.k8s.io Lease that qscale autoscale
// processes of one fleet compete for (autoscale/k8sfleet/leader;
// docs/kubernetes.md "High availability"). The holder runs the
// controller; the others wait, and take over once the holder has not
// renewed the Lease for LeaseDuration.
type LeaderElection struct {
	// Lease is the Lease's name; default the workload's name followed by
	// "-autoscaler".
	Lease string `yaml:"lease"`
	// Namespace of the Lease; default the fleet's.
	Namespace string `yaml:"namespace"`
	// Identity names this process in the Lease; default its host name
	// (in a pod, the pod's name) and a random suffix.
	Identity string `yaml:"identity"`
	// LeaseDuration is how long the others wait, after the holder's last
	// renewal, before taking the Lease: a whole number of seconds.
	LeaseDuration policy.Duration `yaml:"leaseDuration"`
	// RenewDeadline is how long the holder keeps acting since its last
	// successful renewal; past it, it stops scaling at once. Below
	// LeaseDuration.
	RenewDeadline policy.Duration `yaml:"renewDeadline"`
	// RetryPeriod is the time between two tries to take or renew the
	// Lease.
	RetryPeriod policy.Duration `yaml:"retryPeriod"`
}

// ECS is an Amazon ECS service (autoscale/ecsfleet; docs/aws.md).
type ECS struct {
	Cluster string `yaml:"cluster"`
	Service string `yaml:"service"`
	// Region; default the AWS configuration chain's, else DefaultRegion.
	Region string `yaml:"region"`
	// Endpoint overrides the ECS endpoint (an emulator, a VPC endpoint).
	Endpoint string `yaml:"endpoint"`
	// StatusPort is the workers' status endpoint port on each task's
	// private IP; 0 (default) turns task scale-in protection off.
	StatusPort int `yaml:"statusPort"`
	// ProtectionExpiry is how long task scale-in protection lasts.
	ProtectionExpiry policy.Duration `yaml:"protectionExpiry"`
}

// ASG is an EC2 Auto Scaling group (autoscale/asgfleet; docs/aws.md).
type ASG struct {
	GroupName string `yaml:"groupName"`
	// Region; default the AWS configuration chain's, else DefaultRegion.
	Region string `yaml:"region"`
	// Endpoint overrides the Auto Scaling (and EC2) endpoint.
	Endpoint string `yaml:"endpoint"`
	// StatusPort is the workers' status endpoint port on each instance's
	// private IP; 0 (default) turns instance scale-in protection off.
	StatusPort int `yaml:"statusPort"`
}

// Memory is an in-memory fleet that runs nothing: for trying policies
// against a real queue.
type Memory struct {
	// StartDelay is how long a new worker takes to become ready.
	StartDelay policy.Duration `yaml:"startDelay"`
}

// CloudWatch publishes a fleet's backlog per worker to CloudWatch
// (autoscale/cwpublish; docs/aws.md).
type CloudWatch struct {
	Namespace  string `yaml:"namespace"`
	MetricName string `yaml:"metricName"`
	// Dimensions of every metric; default SQSName = the queue's name.
	// Written {} for none.
	Dimensions Dimensions `yaml:"dimensions"`
	// Unit is a CloudWatch StandardUnit.
	Unit string `yaml:"unit"`
	// Raw also publishes the counts backlog per worker is made of.
	Raw    bool            `yaml:"raw"`
	Period policy.Duration `yaml:"period"`
	// Region; default the AWS configuration chain's, else DefaultRegion.
	Region   string `yaml:"region"`
	Endpoint string `yaml:"endpoint"`
	// Protocol: cbor, json or query.
	Protocol string `yaml:"protocol"`
}

// Dimension is a CloudWatch dimension.
type Dimension struct {
	Name  string `yaml:"Name"`
	Value string `yaml:"Value"`
}

// Dimensions are written as a mapping {Name: Value} (taken in name order)
// or a list of {Name, Value}. nil means the default; empty, none.
type Dimensions []Dimension

func (ds *Dimensions) decodeNode(d *decoder, n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.MappingNode:
		var m map[string]string
		d.value(n, reflectValue(&m), path)
		out := Dimensions{}
		for k, v := range m {
			out = append(out, Dimension{Name: k, Value: v})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		*ds = out
	case yaml.SequenceNode:
		var list []Dimension
		d.value(n, reflectValue(&list), path)
		if list == nil {
			list = []Dimension{}
		}
		*ds = list
	default:
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
			return
		}
		d.fail(path, "want a mapping of name to value or a list of {Name, Value}, got %s", describe(n))
	}
}

// reflectValue is the settable value *p points to.
func reflectValue(p any) reflect.Value { return reflect.ValueOf(p).Elem() }
