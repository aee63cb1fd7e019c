package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/internal/clock"
)

func TestKubernetesFleetSettings(t *testing.T) {
	t.Parallel()
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:6443"}
users:
- name: u
  user: {token: t}
contexts:
- name: prod
  context: {cluster: c, user: u, namespace: jobs}
current-context: prod
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	newFleet := fleetKinds["kubernetes"]
	if newFleet == nil {
		t.Fatal(`fleet kind "kubernetes" is not registered`)
	}
	for _, tc := range []struct {
		settings map[string]any
		wantErr  string
		want     string // the fleet's String
	}{
		{map[string]any{"kubeconfig": kubeconfig, "deployment": "w"}, "", "Deployment jobs/w"},
		{map[string]any{"kubeconfig": kubeconfig, "context": "prod", "statefulset": "w", "statusPort": 8080, "namespace": "other", "qps": 50}, "", "StatefulSet other/w"},
		{map[string]any{"kubeconfig": kubeconfig}, "fleet.settings.deployment: required", ""},
		{map[string]any{"kubeconfig": kubeconfig, "deployment": "a", "statefulset": "b"}, "not both", ""},
		{map[string]any{"kubeconfig": kubeconfig, "deployment": "w", "statusPort": 70000}, "fleet.settings.statusPort", ""},
		{map[string]any{"kubeconfig": kubeconfig, "deployment": "w", "statusPort": "http"}, "fleet.settings.statusPort", ""},
		{map[string]any{"kubeconfig": kubeconfig, "deployment": 3}, "fleet.settings.deployment: want a non-empty string", ""},
		{map[string]any{"kubeconfig": kubeconfig, "deployment": "w", "replicas": 3}, "fleet.settings.replicas: unknown setting", ""},
		{map[string]any{"kubeconfig": kubeconfig, "deployment": "w", "context": "nope"}, `fleet.settings.context: no context "nope"`, ""},
		{map[string]any{"kubeconfig": filepath.Join(t.TempDir(), "absent"), "deployment": "w"}, "fleet.settings.kubeconfig", ""},
	} {
		f, err := newFleet(t.Context(), autoscale.FleetConfig{Kind: "kubernetes", Settings: tc.settings}, clock.Real{})
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%v: %v", tc.settings, err)
		case tc.wantErr == "" && fmt.Sprint(f) != tc.want:
			t.Errorf("%v: fleet %v, want %s", tc.settings, f, tc.want)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%v: error %v, want one containing %q", tc.settings, err, tc.wantErr)
		}
	}
}
