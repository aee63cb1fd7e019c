package k8sfleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/qscale/qscale/autoscale/policy"
	"github.com/qscale/qscale/internal/clock"
)

// Settings say which workload a Fleet sizes and how to reach the API
// server: the typed form of a configuration file's `kubernetes:` section
// (package config decodes and checks it; docs/kubernetes.md).
type Settings struct {
	// Kubeconfig file; default in-cluster, else $KUBECONFIG or
	// ~/.kube/config.
	Kubeconfig string
	// Context in the kubeconfig; default its current one.
	Context string
	// Namespace; default the context's, in a pod its own.
	Namespace string
	// Kind and Name are the workload.
	Kind Kind
	Name string
	// StatusPort is the workers' --status-addr port.
	StatusPort int
	// QPS is the client's rate limit (burst 6x).
	QPS float32
	// Guard, when set, is asked before every write (Config.Guard).
	Guard Guard
}

// RESTConfig returns the client configuration the settings name: the
// kubeconfig file (and context) when set; else the in-cluster configuration
// when running in a pod; else $KUBECONFIG or ~/.kube/config. It also returns
// the namespace to use: the setting, else the context's, else the pod's own.
func (s Settings) RESTConfig() (*rest.Config, string, error) {
	var (
		cfg *rest.Config
		ns  = s.Namespace
		err error
	)
	if s.Kubeconfig == "" && s.Context == "" {
		if cfg, err = rest.InClusterConfig(); err == nil {
			if ns == "" {
				b, rerr := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
				if rerr != nil {
					return nil, "", &policy.FieldError{Path: "namespace", Msg: fmt.Sprintf("not set, and the pod's namespace is unreadable: %v", rerr)}
				}
				ns = strings.TrimSpace(string(b))
			}
		} else if !errors.Is(err, rest.ErrNotInCluster) {
			return nil, "", fmt.Errorf("kubernetes fleet: in-cluster configuration: %w", err)
		}
	}
	if cfg == nil {
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		if s.Kubeconfig != "" {
			rules.ExplicitPath = expandHome(s.Kubeconfig)
		}
		cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: s.Context})
		if s.Context != "" {
			raw, err := cc.RawConfig()
			if err != nil {
				return nil, "", &policy.FieldError{Path: "kubeconfig", Msg: err.Error()}
			}
			if _, ok := raw.Contexts[s.Context]; !ok {
				return nil, "", &policy.FieldError{Path: "context", Msg: fmt.Sprintf("no context %q in the kubeconfig", s.Context)}
			}
		}
		if cfg, err = cc.ClientConfig(); err != nil {
			return nil, "", &policy.FieldError{Path: "kubeconfig", Msg: err.Error()}
		}
		if ns == "" {
			if ns, _, err = cc.Namespace(); err != nil {
				return nil, "", &policy.FieldError{Path: "namespace", Msg: err.Error()}
			}
		}
	}
	cfg.QPS, cfg.Burst = s.QPS, int(6*s.QPS)
	cfg.UserAgent = "qscale-autoscaler"
	return cfg, ns, nil
}

func expandHome(p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return home + "/" + rest
		}
	}
	return p
}

// FromSettings builds a Fleet from settings: client, namespace, workload
// and the HTTP status reader on StatusPort. It makes no API call; a workload
// that does not exist shows at the first State.
func FromSettings(_ context.Context, s Settings, clk clock.Clock, logger *slog.Logger) (*Fleet, error) {
	cfg, ns, err := s.RESTConfig()
	if err != nil {
		return nil, err
	}
	cs, err := NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes fleet: %w", err)
	}
	return New(Config{
		Client: cs, Namespace: ns, Kind: s.Kind, Name: s.Name,
		Status: HTTPStatus{Port: s.StatusPort}, Clock: clk, Logger: logger, Guard: s.Guard,
	})
}
