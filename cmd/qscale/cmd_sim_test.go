package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSimCommandWritesReportAndCharts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	svg := filepath.Join(dir, "burst.svg")
	if code := run([]string{"sim", "-scenario", "burst", "-svg", svg, "-duration", "5m"}); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	b, err := os.ReadFile(svg)
	if err != nil || !strings.HasPrefix(string(b), "<svg") || !strings.Contains(string(b), ">qscale: ") || !strings.Contains(string(b), ">aws: ") {
		t.Fatalf("%s: %v: %.300s", svg, err, b)
	}
	if code := run([]string{"sim", "-mode", "sideways"}); code != 2 {
		t.Fatalf("bad -mode exit code %d, want 2", code)
	}
	if code := run([]string{"sim", "-aws-alarm-delay", "0s", "-svg", ""}); code != 2 {
		t.Fatalf("zero -aws-alarm-delay exit code %d, want 2", code)
	}
	if code := run([]string{"sim", "-scenario", "trickle", "-startup", "5s", "-processing", "exp:100ms", "-svg", "", "-mode", "qscale"}); code != 0 {
		t.Fatalf("trickle scenario: exit code %d", code)
	}
}

func TestAutoscaleCheckValidatesConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("fleets: [{queue: {url: http://127.0.0.1:9324/000000000000/q}, memory: {}, maxCapacity: 5, policies: [{latency: {acceptableWait: 10s}}]}]\n"), 0o644)
	if code := run([]string{"autoscale", "-config", good, "-check"}); code != 0 {
		t.Fatalf("valid config: exit code %d", code)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("fleets: [{queue: {url: http://127.0.0.1:9324/000000000000/q}, nomad: {}, maxCapacity: 5, policies: [{latency: {acceptableWait: 10s}}]}]\n"), 0o644)
	if code := run([]string{"autoscale", "-config", bad, "-check"}); code != 1 {
		t.Fatalf("unknown fleet kind: exit code %d, want 1", code)
	}
	if code := run([]string{"autoscale"}); code != 2 {
		t.Fatalf("no -config: exit code %d, want 2", code)
	}
}
