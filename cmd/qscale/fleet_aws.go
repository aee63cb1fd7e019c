package main

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/asgfleet"
	"github.com/qscale/qscale/autoscale/cwpublish"
	"github.com/qscale/qscale/autoscale/ecsfleet"
	"github.com/qscale/qscale/autoscale/policy"
	"github.com/qscale/qscale/internal/clock"
)

// The AWS fleet targets (docs/aws.md):
//
//	fleet:
//	  kind: ecs
//	  settings: {cluster: jobs, service: workers, region: eu-west-1, statusPort: 8081}
//
//	fleet:
//	  kind: ec2-asg            # or asg
//	  settings: {groupName: workers, region: eu-west-1, statusPort: 8081}
func init() {
	fleetKinds["ecs"] = newECSFleet
	fleetKinds["ec2-asg"] = newASGFleet
	fleetKinds["asg"] = newASGFleet
}

func newECSFleet(ctx context.Context, fc autoscale.FleetConfig, _ clock.Clock) (autoscale.Fleet, error) {
	d := settingsDecoder{what: "the ecs fleet", m: fc.Settings}
	s := ecsfleet.Settings{
		Cluster:          d.str("cluster", true),
		Service:          d.str("service", true),
		Region:           d.str("region", false),
		Endpoint:         d.str("endpoint", false),
		StatusPort:       d.port("statusPort"),
		ProtectionExpiry: d.duration("protectionExpiry"),
		Logger:           slog.Default(),
	}
	if err := d.finish(); err != nil {
		return nil, err
	}
	return ecsfleet.FromSettings(ctx, s)
}

func newASGFleet(ctx context.Context, fc autoscale.FleetConfig, _ clock.Clock) (autoscale.Fleet, error) {
	d := settingsDecoder{what: "the " + fc.Kind + " fleet", m: fc.Settings}
	s := asgfleet.Settings{
		GroupName:  d.str("groupName", true),
		Region:     d.str("region", false),
		Endpoint:   d.str("endpoint", false),
		StatusPort: d.port("statusPort"),
		Logger:     slog.Default(),
	}
	if err := d.finish(); err != nil {
		return nil, err
	}
	return asgfleet.FromSettings(ctx, s)
}

// newCloudWatchPublisher builds the optional CloudWatch publisher from a
// settings map (for a `cloudwatch:` section of the autoscaler's
// configuration; docs/aws.md). Keys: namespace, metricName, dimensions (a
// map of name to value, or a list of {Name, Value}), unit, raw, period,
// region, endpoint, protocol. queueURL gives the default dimension
// SQSName=<queue name>. Wire it with OnDecision: pub.OnDecision, Start it
// with the controller and Stop it after.
func newCloudWatchPublisher(ctx context.Context, m map[string]any, queueURL string, clk clock.Clock) (*cwpublish.Publisher, error) {
	d := settingsDecoder{what: "CloudWatch publishing", prefix: "cloudwatch.", m: m}
	s := cwpublish.Settings{
		Config: cwpublish.Config{
			Namespace:  d.str("namespace", false),
			MetricName: d.str("metricName", false),
			Dimensions: d.dimensions("dimensions"),
			Unit:       d.str("unit", false),
			Raw:        d.boolean("raw"),
			Period:     d.duration("period"),
			QueueURL:   queueURL,
			Clock:      clk,
			Logger:     slog.Default(),
		},
		Region:   d.str("region", false),
		Endpoint: d.str("endpoint", false),
		Protocol: d.str("protocol", false),
	}
	if err := d.finish(); err != nil {
		return nil, err
	}
	return cwpublish.FromSettings(ctx, s)
}

// settingsDecoder reads a kind's settings map, collecting every problem,
// and refuses keys it was not asked for.
type settingsDecoder struct {
	what   string // "the ecs fleet"
	prefix string // default "fleet.settings."
	m      map[string]any
	seen   []string
	errs   []string
}

func (d *settingsDecoder) get(key string) (any, bool) {
	d.seen = append(d.seen, key)
	v, ok := d.m[key]
	return v, ok && v != nil
}

func (d *settingsDecoder) fail(key, format string, a ...any) {
	p := d.prefix
	if p == "" {
		p = "fleet.settings."
	}
	d.errs = append(d.errs, p+key+": "+fmt.Sprintf(format, a...))
}

func (d *settingsDecoder) str(key string, required bool) string {
	v, ok := d.get(key)
	if !ok {
		if required {
			d.fail(key, "required by %s", d.what)
		}
		return ""
	}
	s, isStr := v.(string)
	if !isStr || (required && s == "") {
		d.fail(key, "want a non-empty string, got %v", v)
	}
	return s
}

func (d *settingsDecoder) port(key string) int {
	v, ok := d.get(key)
	if !ok {
		return 0
	}
	var n int
	switch x := v.(type) {
	case int:
		n = x
	case float64:
		if x != math.Trunc(x) {
			n = -1
		} else {
			n = int(x)
		}
	default:
		n = -1
	}
	if n < 1 || n > 65535 {
		d.fail(key, "want a port number 1-65535, got %v", v)
		return 0
	}
	return n
}

func (d *settingsDecoder) duration(key string) time.Duration {
	v, ok := d.get(key)
	if !ok {
		return 0
	}
	var p policy.Duration
	if err := p.UnmarshalText([]byte(fmt.Sprint(v))); err != nil || p.D() <= 0 {
		d.fail(key, "want a positive duration such as 60s or 1h, got %v", v)
		return 0
	}
	return p.D()
}

func (d *settingsDecoder) boolean(key string) bool {
	v, ok := d.get(key)
	if !ok {
		return false
	}
	b, isBool := v.(bool)
	if !isBool {
		d.fail(key, "want true or false, got %v", v)
	}
	return b
}

// dimensions reads {Name: Value, ...} (sorted by name) or [{Name, Value}].
func (d *settingsDecoder) dimensions(key string) []cwpublish.Dimension {
	v, ok := d.get(key)
	if !ok {
		return nil
	}
	out := []cwpublish.Dimension{}
	switch x := v.(type) {
	case map[string]any:
		for name, val := range x {
			s, isStr := val.(string)
			if !isStr {
				d.fail(key+"."+name, "want a string, got %v", val)
			}
			out = append(out, cwpublish.Dimension{Name: name, Value: s})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	case []any:
		for i, e := range x {
			m, isMap := e.(map[string]any)
			name, _ := m["Name"].(string)
			val, _ := m["Value"].(string)
			if !isMap || len(m) != 2 || name == "" || val == "" {
				d.fail(fmt.Sprintf("%s[%d]", key, i), "want {Name: ..., Value: ...}, got %v", e)
				continue
			}
			out = append(out, cwpublish.Dimension{Name: name, Value: val})
		}
	default:
		d.fail(key, "want a map of name to value or a list of {Name, Value}, got %v", v)
	}
	return out
}

// finish reports unknown keys and every problem found, in one error.
func (d *settingsDecoder) finish() error {
	var unknown []string
	for k := range d.m {
		known := false
		for _, s := range d.seen {
			known = known || s == k
		}
		if !known {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		d.fail(k, "unknown setting of %s (known: %s)", d.what, strings.Join(d.seen, ", "))
	}
	if len(d.errs) > 0 {
		return fmt.Errorf("%s", strings.Join(d.errs, "; "))
	}
	return nil
}
