package localfleet

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/qscale/qscale/autoscale/policy"
)

// Settings lists the keys ParseSettings accepts, for error messages and docs.
var Settings = []string{
	"command", "env", "dir", "statusDir", "maxWorkers",
	"startTimeout", "stopGrace", "restartBackoff", "maxRestartBackoff",
}

// ParseSettings decodes a configuration file's fleet.settings (as YAML or
// JSON decode them into a map) into Options:
//
//	command:           [qscale, worker, --queue-url, URL, --, handler, arg]   (required; a list)
//	env:               {NAME: value} or [NAME=value, ...]
//	dir:               working directory
//	statusDir:         where status files go
//	maxWorkers:        bound of the desired count
//	startTimeout, stopGrace, restartBackoff, maxRestartBackoff:
//	                   durations ("30s") or seconds (30)
//
// Unknown keys and values of the wrong type are errors naming the key. The
// fleet's Clock, Logger and output writers are left for the caller.
func ParseSettings(settings map[string]any) (Options, error) {
	var o Options
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := settings[k]
		var err error
		switch k {
		case "command":
			o.Command, err = stringList(v)
			if err == nil && len(o.Command) == 0 {
				err = fmt.Errorf("must not be empty")
			}
		case "env":
			o.Env, err = envList(v)
		case "dir":
			o.Dir, err = str(v)
		case "statusDir":
			o.StatusDir, err = str(v)
		case "maxWorkers":
			o.MaxWorkers, err = integer(v)
			if err == nil && o.MaxWorkers < 1 {
				err = fmt.Errorf("must be at least 1, got %d", o.MaxWorkers)
			}
		case "startTimeout":
			err = duration(v, &o.StartTimeout)
		case "stopGrace":
			err = duration(v, &o.StopGrace)
		case "restartBackoff":
			err = duration(v, &o.RestartBackoff)
		case "maxRestartBackoff":
			err = duration(v, &o.MaxRestartBackoff)
		default:
			return o, fmt.Errorf("fleet.settings.%s: unknown setting of the local fleet (known: %s)", k, strings.Join(Settings, ", "))
		}
		if err != nil {
			return o, fmt.Errorf("fleet.settings.%s: %w", k, err)
		}
	}
	if len(o.Command) == 0 {
		return o, fmt.Errorf("fleet.settings.command: required: the worker's argv, e.g. [qscale, worker, --queue-url, URL, --, handler]")
	}
	if _, err := o.withDefaults(); err != nil {
		return o, fmt.Errorf("fleet.settings: %w", err)
	}
	return o, nil
}

func str(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("want a string, got %T", v)
	}
	return s, nil
}

func stringList(v any) ([]string, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("want a list of strings, got %T", v)
	}
	out := make([]string, len(list))
	for i, x := range list {
		switch x := x.(type) {
		case string:
			out[i] = x
		case int, int64, float64, bool:
			out[i] = fmt.Sprint(x) // YAML reads "--concurrency, 4" as a number
		default:
			return nil, fmt.Errorf("[%d]: want a string, got %T", i, x)
		}
	}
	return out, nil
}

func envList(v any) ([]string, error) {
	switch v := v.(type) {
	case map[string]any:
		names := make([]string, 0, len(v))
		for k := range v {
			names = append(names, k)
		}
		sort.Strings(names)
		out := make([]string, 0, len(v))
		for _, k := range names {
			if k == "" || strings.Contains(k, "=") {
				return nil, fmt.Errorf("%q is not a variable name", k)
			}
			out = append(out, k+"="+fmt.Sprint(v[k]))
		}
		return out, nil
	case []any:
		out, err := stringList(v)
		if err != nil {
			return nil, err
		}
		for _, kv := range out {
			if i := strings.IndexByte(kv, '='); i <= 0 {
				return nil, fmt.Errorf("%q: want NAME=value", kv)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("want a map of NAME: value or a list of NAME=value, got %T", v)
}

func integer(v any) (int, error) {
	switch v := v.(type) {
	case int:
		return v, nil
	case int64:
		return int(v), nil
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<31 {
			return int(v), nil
		}
	}
	return 0, fmt.Errorf("want a whole number, got %v", v)
}

func duration(v any, d *time.Duration) error {
	switch v.(type) {
	case string, int, int64, float64:
	default:
		return fmt.Errorf("want a duration such as 30s or a number of seconds, got %T", v)
	}
	var pd policy.Duration
	if err := pd.UnmarshalText([]byte(fmt.Sprint(v))); err != nil {
		return err
	}
	if pd.D() <= 0 {
		return fmt.Errorf("must be positive, got %v", pd.D())
	}
	*d = pd.D()
	return nil
}
