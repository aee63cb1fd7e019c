package config

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/qscale/qscale/autoscale/policy"
)

// WithDefaults returns a copy of c with every field left out set to its
// default (defaults.go). Validate expects it.
func (c Config) WithDefaults() Config {
	setString(&c.Server.Listen, DefaultServerListen)
	setString(&c.Server.DataDir, DefaultDataDir)
	setString(&c.Server.AccountID, DefaultAccountID)
	setString(&c.Server.Region, DefaultRegion)
	setString(&c.Console.Listen, DefaultConsoleListen)
	setDuration(&c.Console.History, DefaultConsoleHistory)
	c.Fleets = slices.Clone(c.Fleets)
	for i := range c.Fleets {
		c.Fleets[i] = c.Fleets[i].withDefaults(c.Server.Region)
	}
	return c
}

func (f Fleet) withDefaults(serverRegion string) Fleet {
	// A queue named by URL keeps an empty region unless the file sets one:
	// package sqsconn resolves it by the rule every qscale client follows
	// (the URL's region, the AWS configuration chain's, DefaultRegion).
	if len(f.Queues) > 0 {
		f.Queues = slices.Clone(f.Queues)
	}
	if f.Queue.URL == "" && f.Queue.Name != "" {
		setString(&f.Queue.Region, serverRegion)
	}
	for i := range f.Queues {
		if f.Queues[i].URL == "" {
			setString(&f.Queues[i].Region, serverRegion)
		}
	}
	setString(&f.QueueCombine, CombineSum)
	setString(&f.Name, f.QueueLabel())
	setDuration(&f.Interval, DefaultInterval)
	if f.History == 0 {
		f.History = DefaultHistory
	}
	if w := f.Worker; w != nil {
		w2 := *w
		setDuration(&w2.StopGrace, DefaultStopGrace)
		f.Worker = &w2
	}
	if l := f.Local; l != nil {
		l2 := *l
		if l2.MaxWorkers == 0 {
			l2.MaxWorkers = max(f.MaxCapacity, 1)
		}
		setDuration(&l2.StartTimeout, DefaultStartTimeout)
		setDuration(&l2.StopGrace, DefaultStopGrace)
		setDuration(&l2.RestartBackoff, DefaultRestartBackoff)
		setDuration(&l2.MaxRestartBackoff, DefaultMaxRestartBackoff)
		f.Local = &l2
	}
	if k := f.Kubernetes; k != nil {
		k2 := *k
		if k2.StatusPort == 0 {
			k2.StatusPort = DefaultKubernetesStatusPort
		}
		if k2.QPS == 0 {
			k2.QPS = DefaultKubernetesQPS
		}
		if le := k2.LeaderElection; le != nil {
			le2 := *le
			setString(&le2.Lease, cmp.Or(k2.Deployment, k2.StatefulSet)+DefaultLeaseSuffix)
			setString(&le2.Namespace, k2.Namespace)
			setDuration(&le2.LeaseDuration, DefaultLeaseDuration)
			setDuration(&le2.RenewDeadline, DefaultRenewDeadline)
			setDuration(&le2.RetryPeriod, DefaultRetryPeriod)
			k2.LeaderElection = &le2
		}
		f.Kubernetes = &k2
	}
	if e := f.ECS; e != nil {
		e2 := *e
		setDuration(&e2.ProtectionExpiry, DefaultProtectionExpiry)
		f.ECS = &e2
	}
	if g := f.Guardrails; g != nil {
		f.Guardrails = g.withDefaults()
	}
	if cw := f.CloudWatch; cw != nil {
		c2 := *cw
		setString(&c2.Namespace, DefaultCloudWatchNamespace)
		setString(&c2.MetricName, DefaultCloudWatchMetric)
		setString(&c2.Unit, DefaultCloudWatchUnit)
		setString(&c2.Protocol, DefaultCloudWatchProtocol)
		setDuration(&c2.Period, DefaultCloudWatchPeriod)
		if c2.Dimensions == nil {
			if name := f.QueueLabel(); name != "" {
				c2.Dimensions = Dimensions{{Name: DefaultCloudWatchDimension, Value: name}}
			}
		}
		f.CloudWatch = &c2
	}
	return f
}

func setString(s *string, def string) {
	if *s == "" {
		*s = def
	}
}

func setDuration(d *policy.Duration, def time.Duration) {
	if *d == 0 {
		*d = policy.Duration(def)
	}
}

// Validate reports every problem of c (with its defaults applied) for use,
// each as a *policy.FieldError naming the field's path.
func (c *Config) Validate(use Use) error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	queues := map[string]bool{}
	if use == ForUp {
		if _, _, err := net.SplitHostPort(c.Server.Listen); err != nil {
			add(fe("server.listen", "%q: want host:port", c.Server.Listen))
		}
		if c.Console.Listen != "off" {
			host, _, err := net.SplitHostPort(c.Console.Listen)
			switch {
			case err != nil:
				add(fe("console.listen", "%q: want host:port or off", c.Console.Listen))
			case !isLoopback(host) && c.Console.Token == "":
				add(fe("console.token", "is required when the console listens on %s, beyond this machine (or set QSCALE_CONSOLE_TOKEN)", c.Console.Listen))
			}
		}
		if c.Console.History.D() < time.Minute {
			add(fe("console.history", "must be at least 1m, got %s", c.Console.History))
		}
		add(ValidateQueues(c.Queues))
		for _, q := range c.Queues {
			queues[q.Name] = true
		}
	}
	if len(c.Fleets) == 0 {
		add(fe("fleets", "needs a fleet: its queue, bounds, policies and where its workers run"))
	}
	names := map[string]int{}
	consumed := map[string]string{} // queue (name or URL) -> the path that listed it first
	for i := range c.Fleets {
		f := &c.Fleets[i]
		p := fmt.Sprintf("fleets[%d]", i)
		if j, dup := names[f.Name]; dup && f.Name != "" {
			add(fe(p+".name", "%q is already the name of fleets[%d]: fleet names are unique", f.Name, j))
		} else {
			names[f.Name] = i
		}
		for k, q := range f.QueueList() {
			key := cmp.Or(q.URL, q.Name)
			if key == "" {
				continue
			}
			qp := p + "." + f.queuePath(k)
			if first, dup := consumed[key]; dup {
				add(fe(qp, "%q is already consumed at %s: each queue feeds one fleet, once (two readers of one backlog would each size a fleet for all of it)", key, first))
				continue
			}
			consumed[key] = qp
		}
		add(policy.Prefix(p, f.validate(use, queues)))
	}
	return errors.Join(errs...)
}

// validate checks one fleet (defaults applied); paths are relative to it.
func (f *Fleet) validate(use Use, queues map[string]bool) error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	switch {
	case f.Queue != (QueueRef{}) && len(f.Queues) > 0:
		add(fe("queues", "give queue (one) or queues (several), not both"))
	case f.Queue == (QueueRef{}) && f.Queues != nil && len(f.Queues) == 0:
		add(fe("queues", "is empty: list the queues that feed the fleet"))
	case f.Queue == (QueueRef{}) && len(f.Queues) == 0 && use == ForUp:
		add(fe("queue", "is required (the name of one of queues; or queues: [a, b])"))
	case f.Queue == (QueueRef{}) && len(f.Queues) == 0:
		add(fe("queue.url", "is required (the queue URL, e.g. http://127.0.0.1:9324/000000000000/jobs; or queues: [{url: ...}, ...])"))
	}
	for i, q := range f.QueueList() {
		add(q.validate(f.queuePath(i), use, queues))
	}
	switch f.QueueCombine {
	case CombineSum, CombineWorst:
	default:
		add(fe("queueCombine", "%q: want sum (the queues' backlogs add up) or worst (the worst of them)", f.QueueCombine))
	}
	if f.Source != nil {
		switch {
		case use == ForUp:
			add(fe("source", "is qscale autoscale's: qscale up reads its own queues, oldest message's age included"))
		case f.Source.CloudWatchEndpoint != "":
			add(absoluteURL("source.cloudWatchEndpoint", f.Source.CloudWatchEndpoint))
		}
		switch f.Source.CloudWatchProtocol {
		case "", "cbor", "json", "query":
		default:
			add(fe("source.cloudWatchProtocol", "%q: want cbor, json or query", f.Source.CloudWatchProtocol))
		}
	}
	if f.MinCapacity < 0 {
		add(fe("minCapacity", "must be 0 or more, got %d", f.MinCapacity))
	}
	if f.MaxCapacity < 1 {
		add(fe("maxCapacity", "must be 1 or more, got %d", f.MaxCapacity))
	} else if f.MaxCapacity < f.MinCapacity {
		add(fe("maxCapacity", "%d is below minCapacity %d", f.MaxCapacity, f.MinCapacity))
	}
	if f.Interval.D() < MinInterval {
		add(fe("interval", "must be at least %s, got %s", MinInterval, f.Interval))
	}
	if f.History < 1 {
		add(fe("history", "must be 1 or more, got %d", f.History))
	}
	add(validatePolicies(f.Policies))
	if f.CloudWatch != nil {
		add(policy.Prefix("cloudwatch", f.CloudWatch.validate()))
	}
	if f.Guardrails != nil {
		add(policy.Prefix("guardrails", f.Guardrails.validate(f.Bounds())))
	}
	if _, err := f.BuildSchedule(); err != nil {
		add(err)
	}
	if _, err := f.BuildPredictor(); err != nil {
		add(err)
	}

	kinds := f.kinds()
	allowed := Kinds[1:]
	if use == ForUp {
		allowed = []string{KindWorker, KindLocal, KindMemory}
	}
	switch {
	case len(kinds) == 0:
		add(fe("", "give where the workers run: one of %s", strings.Join(allowed, ", ")))
	case len(kinds) > 1:
		add(fe("", "give exactly one of %s; got %s", strings.Join(allowed, ", "), strings.Join(kinds, " and ")))
	case !slices.Contains(allowed, kinds[0]):
		if use == ForUp {
			add(fe(kinds[0], "qscale up runs its workers on this machine (worker, local or memory); size a %s fleet with qscale autoscale", kinds[0]))
		} else {
			add(fe(kinds[0], "is qscale up's shorthand for workers on its own queues; qscale autoscale runs them with local: {command: [qscale, worker, ...]}"))
		}
	}
	if f.Worker != nil {
		add(policy.Prefix(KindWorker, f.Worker.validate()))
	}
	if f.Local != nil {
		add(policy.Prefix(KindLocal, f.Local.validate()))
	}
	if f.Kubernetes != nil {
		add(policy.Prefix(KindKubernetes, f.Kubernetes.validate()))
	}
	if f.ECS != nil {
		add(policy.Prefix(KindECS, f.ECS.validate()))
	}
	if f.ASG != nil {
		add(policy.Prefix(KindASG, f.ASG.validate()))
	}
	if f.Memory != nil && f.Memory.StartDelay < 0 {
		add(fe("memory.startDelay", "must not be negative, got %s", f.Memory.StartDelay))
	}
	return joinRelative(errs)
}

// validate checks one queue of a fleet; path is its place in the fleet
// ("queue", "queues[1]").
func (q QueueRef) validate(path string, use Use, queues map[string]bool) error {
	var errs []error
	switch use {
	case ForUp:
		switch {
		case q.URL != "" || q.Endpoint != "":
			errs = append(errs, fe(path, "qscale up's fleets consume its own queues: give the queue's name (%s: jobs)", path))
		case q.Name == "":
			errs = append(errs, fe(path, "is required (the name of one of queues)"))
		case !queues[q.Name]:
			errs = append(errs, fe(path, "%q is not one of queues", q.Name))
		}
	default:
		switch {
		case q.URL == "" && q.Name != "":
			errs = append(errs, fe(path, "qscale autoscale needs the queue's URL: {url: https://sqs.REGION.amazonaws.com/ACCOUNT/%s}", q.Name))
		case q.URL == "":
			errs = append(errs, fe(path+".url", "is required (the queue URL, e.g. http://127.0.0.1:9324/000000000000/jobs)"))
		default:
			errs = append(errs, absoluteURL(path+".url", q.URL))
		}
		if q.Endpoint != "" {
			errs = append(errs, absoluteURL(path+".endpoint", q.Endpoint))
		}
	}
	return errors.Join(errs...)
}

// joinRelative joins errors whose paths may be empty (the fleet itself):
// policy.Prefix then names the fleet alone.
func joinRelative(errs []error) error {
	out := make([]error, 0, len(errs))
	for _, err := range errs {
		var fe *policy.FieldError
		if errors.As(err, &fe) && fe.Path == "" {
			err = errors.New(fe.Msg)
		}
		out = append(out, err)
	}
	return errors.Join(out...)
}

func validatePolicies(ps []Policy) error {
	var errs []error
	if len(ps) == 0 {
		errs = append(errs, fe("policies", "needs at least one policy"))
	}
	names := map[string]int{}
	for i, p := range ps {
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

// readPolicyFiles reads the targetTrackingFile of every policy that names
// one (relative to dir) into its TargetTracking. field is the policies'
// path, for the errors.
func readPolicyFiles(ps []Policy, dir, field string) error {
	var errs []error
	for i := range ps {
		p := &ps[i]
		if p.TargetTrackingFile == "" {
			continue
		}
		path := fmt.Sprintf("%s[%d].targetTrackingFile", field, i)
		if p.TargetTracking != nil {
			errs = append(errs, fe(path, "give targetTracking or targetTrackingFile, not both"))
			continue
		}
		name := p.TargetTrackingFile
		if !filepath.IsAbs(name) {
			name = filepath.Join(dir, name)
		}
		b, err := os.ReadFile(name)
		if err != nil {
			errs = append(errs, fe(path, "%v", err))
			continue
		}
		tt, err := policy.ParseTargetTracking(b)
		if err != nil {
			errs = append(errs, policy.Prefix(fmt.Sprintf("%s(%s)", path, p.TargetTrackingFile), err))
			continue
		}
		p.TargetTracking = &tt
	}
	return errors.Join(errs...)
}

func (w *Worker) validate() error {
	var errs []error
	kinds := 0
	for _, set := range []bool{len(w.Command) > 0, w.HTTP != "", w.Demo > 0} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		errs = append(errs, fe("", "give exactly one of command, http and demo"))
	}
	if w.HTTPStart != "" && w.HTTP == "" {
		errs = append(errs, fe("httpStart", "needs http"))
	}
	if w.Demo < 0 {
		errs = append(errs, fe("demo", "must not be negative"))
	}
	for _, fl := range w.Flags {
		for _, own := range []string{"--queue-url", "-queue-url", "--endpoint-url", "-endpoint-url", "--status-addr", "-status-addr", "--status-file", "-status-file"} {
			if fl == own || strings.HasPrefix(fl, own+"=") {
				errs = append(errs, fe("flags", "%s is set by qscale up itself", own))
			}
		}
	}
	if w.StopGrace < 0 {
		errs = append(errs, fe("stopGrace", "must not be negative"))
	}
	return joinRelative(errs)
}

func (l *Local) validate() error {
	var errs []error
	switch {
	case l.Command == nil:
		errs = append(errs, fe("command", "is required: the worker's argv, e.g. [qscale, worker, --queue-url, URL, --, handler]"))
	case len(l.Command) == 0 || l.Command[0] == "":
		errs = append(errs, fe("command", "must name a program"))
	}
	if l.MaxWorkers < 1 {
		errs = append(errs, fe("maxWorkers", "must be at least 1, got %d", l.MaxWorkers))
	}
	for _, d := range []struct {
		name string
		v    policy.Duration
	}{{"startTimeout", l.StartTimeout}, {"stopGrace", l.StopGrace}, {"restartBackoff", l.RestartBackoff}, {"maxRestartBackoff", l.MaxRestartBackoff}} {
		if d.v <= 0 {
			errs = append(errs, fe(d.name, "must be positive, got %s", d.v))
		}
	}
	if l.MaxRestartBackoff < l.RestartBackoff {
		errs = append(errs, fe("maxRestartBackoff", "%s is below restartBackoff %s", l.MaxRestartBackoff, l.RestartBackoff))
	}
	return errors.Join(errs...)
}

func (k *Kubernetes) validate() error {
	var errs []error
	switch {
	case k.Deployment != "" && k.StatefulSet != "":
		errs = append(errs, fe("statefulset", "give deployment or statefulset, not both"))
	case k.Deployment == "" && k.StatefulSet == "":
		errs = append(errs, fe("deployment", "is required (or statefulset): the workload to scale"))
	}
	errs = append(errs, port("statusPort", k.StatusPort, false))
	if !(k.QPS > 0 && k.QPS <= 10000) {
		errs = append(errs, fe("qps", "want requests per second above 0 and at most 10000, got %v", k.QPS))
	}
	if k.LeaderElection != nil {
		errs = append(errs, policy.Prefix("leaderElection", k.LeaderElection.validate()))
	}
	return errors.Join(errs...)
}

// retryJitter is client-go's jitter of the retry period: a renewal try
// may come up to 1.2 retry periods after the last.
const retryJitter = 1.2

func (l *LeaderElection) validate() error {
	var errs []error
	if !dnsSubdomain(l.Lease) {
		errs = append(errs, fe("lease", "%q is not a Kubernetes object name (lower case letters, digits, '-' and '.', at most 253)", l.Lease))
	}
	if l.Namespace != "" && !dnsSubdomain(l.Namespace) {
		errs = append(errs, fe("namespace", "%q is not a Kubernetes namespace name", l.Namespace))
	}
	if len(l.Identity) > 128 {
		errs = append(errs, fe("identity", "at most 128 characters, got %d", len(l.Identity)))
	}
	ld, rd, rp := l.LeaseDuration.D(), l.RenewDeadline.D(), l.RetryPeriod.D()
	switch {
	case ld < 2*time.Second || ld%time.Second != 0:
		errs = append(errs, fe("leaseDuration", "want a whole number of seconds, at least 2s, got %s", l.LeaseDuration))
	case rd >= ld:
		errs = append(errs, fe("renewDeadline", "%s must be below leaseDuration %s: the holder stops acting before the others may take over", l.RenewDeadline, l.LeaseDuration))
	}
	switch {
	case rp < 100*time.Millisecond:
		errs = append(errs, fe("retryPeriod", "must be at least 100ms, got %s", l.RetryPeriod))
	case float64(rd) <= retryJitter*float64(rp):
		errs = append(errs, fe("renewDeadline", "%s must be above 1.2 times retryPeriod %s, or a renewal could never be tried in time", l.RenewDeadline, l.RetryPeriod))
	}
	return errors.Join(errs...)
}

// dnsSubdomain reports whether s is a valid Kubernetes object name (RFC
// 1123 subdomain).
func dnsSubdomain(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

func (e *ECS) validate() error {
	var errs []error
	if e.Cluster == "" {
		errs = append(errs, fe("cluster", "is required (the cluster's name or ARN)"))
	}
	if e.Service == "" {
		errs = append(errs, fe("service", "is required (the service's name or ARN)"))
	}
	if e.Endpoint != "" {
		errs = append(errs, absoluteURL("endpoint", e.Endpoint))
	}
	errs = append(errs, port("statusPort", e.StatusPort, true))
	if d := e.ProtectionExpiry.D(); d < MinProtectionExpiry || d > MaxProtectionExpiry {
		errs = append(errs, fe("protectionExpiry", "must be %s to %s, got %s", MinProtectionExpiry, MaxProtectionExpiry, d))
	}
	return errors.Join(errs...)
}

func (a *ASG) validate() error {
	var errs []error
	if a.GroupName == "" {
		errs = append(errs, fe("groupName", "is required (the Auto Scaling group's name)"))
	}
	if a.Endpoint != "" {
		errs = append(errs, absoluteURL("endpoint", a.Endpoint))
	}
	errs = append(errs, port("statusPort", a.StatusPort, true))
	return errors.Join(errs...)
}

func (c *CloudWatch) validate() error {
	var errs []error
	if strings.HasPrefix(c.Namespace, "AWS/") {
		errs = append(errs, fe("namespace", "%q: custom metrics cannot use the AWS/ namespaces", c.Namespace))
	}
	if c.Period.D() < time.Second {
		errs = append(errs, fe("period", "must be at least 1s, got %s", c.Period))
	}
	if len(c.Dimensions) > 30 {
		errs = append(errs, fe("dimensions", "%d dimensions: CloudWatch takes at most 30", len(c.Dimensions)))
	}
	for i, d := range c.Dimensions {
		if d.Name == "" || d.Value == "" {
			errs = append(errs, fe(fmt.Sprintf("dimensions[%d]", i), "Name and Value are required"))
		}
	}
	switch c.Protocol {
	case "cbor", "json", "query":
	default:
		errs = append(errs, fe("protocol", "%q: want cbor, json or query", c.Protocol))
	}
	if c.Endpoint != "" {
		errs = append(errs, absoluteURL("endpoint", c.Endpoint))
	}
	return errors.Join(errs...)
}

func port(name string, p int, zeroOK bool) error {
	if (p == 0 && zeroOK) || (p >= 1 && p <= 65535) {
		return nil
	}
	return fe(name, "want a port number 1-65535, got %d", p)
}

func absoluteURL(name, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fe(name, "%q is not an absolute http(s) URL", raw)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
