package localfleet_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/qscale/qscale/autoscale/localfleet"
)

func decodeSettings(t *testing.T, doc string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestParseSettings(t *testing.T) {
	t.Parallel()
	o, err := localfleet.ParseSettings(decodeSettings(t, `
command: [qscale, worker, --queue-url, http://127.0.0.1:9324/000000000000/jobs, --concurrency, 4, --, ./handle.sh]
env: {B: 2, A: x}
dir: /srv
statusDir: /run/qscale
maxWorkers: 10
startTimeout: 1m
stopGrace: 45
restartBackoff: 500ms
maxRestartBackoff: 1m
`))
	if err != nil {
		t.Fatal(err)
	}
	want := localfleet.Options{
		Command:    []string{"qscale", "worker", "--queue-url", "http://127.0.0.1:9324/000000000000/jobs", "--concurrency", "4", "--", "./handle.sh"},
		Env:        []string{"A=x", "B=2"},
		Dir:        "/srv",
		StatusDir:  "/run/qscale",
		MaxWorkers: 10, StartTimeout: time.Minute, StopGrace: 45 * time.Second,
		RestartBackoff: 500 * time.Millisecond, MaxRestartBackoff: time.Minute,
	}
	if !reflect.DeepEqual(o, want) {
		t.Fatalf("ParseSettings =\n%+v\nwant\n%+v", o, want)
	}
	o, err = localfleet.ParseSettings(decodeSettings(t, `{"command": ["w"], "env": ["A=1"]}`))
	if err != nil || !reflect.DeepEqual(o.Env, []string{"A=1"}) {
		t.Fatalf("env as a list: %+v, %v", o, err)
	}
}

func TestParseSettingsErrors(t *testing.T) {
	t.Parallel()
	for doc, want := range map[string]string{
		`{}`:                              "fleet.settings.command: required",
		`{command: []}`:                   "fleet.settings.command: must not be empty",
		`{command: "qscale worker"}`:      "fleet.settings.command: want a list of strings",
		`{command: [w], workers: 3}`:      "fleet.settings.workers: unknown setting of the local fleet (known: command,",
		`{command: [w], maxWorkers: 0}`:   "fleet.settings.maxWorkers: must be at least 1",
		`{command: [w], maxWorkers: 2.5}`: "fleet.settings.maxWorkers: want a whole number",
		`{command: [w], stopGrace: soon}`: "fleet.settings.stopGrace: duration \"soon\"",
		`{command: [w], stopGrace: -1s}`:  "fleet.settings.stopGrace: must be positive",
		`{command: [w], env: [NOEQUALS]}`: "fleet.settings.env: \"NOEQUALS\": want NAME=value",
		`{command: [w], env: 3}`:          "fleet.settings.env: want a map",
		`{command: [w], dir: [a]}`:        "fleet.settings.dir: want a string",
		`{command: [w], restartBackoff: 1m, maxRestartBackoff: 1s}`: "fleet.settings: localfleet: Options.MaxRestartBackoff 1s is below RestartBackoff 1m0s",
	} {
		_, err := localfleet.ParseSettings(decodeSettings(t, doc))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want it to contain %q", doc, err, want)
		}
	}
}
