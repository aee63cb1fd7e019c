package k8sfleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/qscale/qscale/internal/clock"
)

// Settings are the fleet.settings of a `kind: kubernetes` fleet in a qscale
// configuration file:
//
//	fleet:
//	  kind: kubernetes
//	  settings:
//	    deployment: qscale-worker   # or statefulset: NAME (exactly one)
//	    namespace: jobs             # default: the kubeconfig context's, else the pod's own
//	    kubeconfig: ~/.kube/config  # default: in-cluster, else $KUBECONFIG / ~/.kube/config
//	    context: prod               # default: the kubeconfig's current context
//	    statusPort: 9090            # the workers' --status-addr port; default 9090
//	    qps: 50                     # client-side rate limit; default 50 requests/s, burst 6×
type Settings struct {
	Kubeconfig string
	Context    string
	Namespace  string
	Kind       Kind
	Name       string
	StatusPort int
	QPS        float32
}

var settingKeys = []string{"context", "deployment", "kubeconfig", "namespace", "qps", "statefulset", "statusPort"}

// ParseSettings decodes and checks a kubernetes fleet's settings. Errors name
// the setting as fleet.settings.<key>.
func ParseSettings(m map[string]any) (Settings, error) {
	s := Settings{StatusPort: 9090, QPS: 50}
	for k := range m {
		if !contains(settingKeys, k) {
			return s, fmt.Errorf("fleet.settings.%s: unknown setting of the kubernetes fleet (%s)", k, strings.Join(settingKeys, ", "))
		}
	}
	str := func(k string) (string, error) {
		v, ok := m[k]
		if !ok || v == nil {
			return "", nil
		}
		s, ok := v.(string)
		if !ok || s == "" {
			return "", fmt.Errorf("fleet.settings.%s: want a non-empty string, got %v", k, v)
		}
		return s, nil
	}
	var err error
	if s.Kubeconfig, err = str("kubeconfig"); err != nil {
		return s, err
	}
	if s.Context, err = str("context"); err != nil {
		return s, err
	}
	if s.Namespace, err = str("namespace"); err != nil {
		return s, err
	}
	dep, err := str("deployment")
	if err != nil {
		return s, err
	}
	sts, err := str("statefulset")
	if err != nil {
		return s, err
	}
	switch {
	case dep != "" && sts != "":
		return s, errors.New("fleet.settings: set deployment or statefulset, not both")
	case dep != "":
		s.Kind, s.Name = Deployment, dep
	case sts != "":
		s.Kind, s.Name = StatefulSet, sts
	default:
		return s, errors.New("fleet.settings.deployment: required (or fleet.settings.statefulset): the workload to scale")
	}
	if v, ok := m["statusPort"]; ok {
		n, err := intOf(v)
		if err != nil || n < 1 || n > 65535 {
			return s, fmt.Errorf("fleet.settings.statusPort: want a port 1-65535, got %v", v)
		}
		s.StatusPort = n
	}
	if v, ok := m["qps"]; ok {
		f, err := strconv.ParseFloat(fmt.Sprint(v), 64)
		if err != nil || f <= 0 || f > 10000 {
			return s, fmt.Errorf("fleet.settings.qps: want a number of requests per second above 0, got %v", v)
		}
		s.QPS = float32(f)
	}
	return s, nil
}

func intOf(v any) (int, error) {
	switch n := v.(type) {
	case int:
		return n, nil
	case int64:
		return int(n), nil
	case uint64:
		return int(n), nil
	case float64:
		if n != float64(int(n)) {
			return 0, fmt.Errorf("%v is not a whole number", n)
		}
		return int(n), nil
	case string:
		return strconv.Atoi(n)
	}
	return 0, fmt.Errorf("%v is not a number", v)
}

func contains(keys []string, k string) bool {
	i := sort.SearchStrings(keys, k)
	return i < len(keys) && keys[i] == k
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
					return nil, "", fmt.Errorf("fleet.settings.namespace: not set, and the pod's namespace is unreadable: %w", rerr)
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
				return nil, "", fmt.Errorf("fleet.settings.kubeconfig: %w", err)
			}
			if _, ok := raw.Contexts[s.Context]; !ok {
				return nil, "", fmt.Errorf("fleet.settings.context: no context %q in the kubeconfig", s.Context)
			}
		}
		if cfg, err = cc.ClientConfig(); err != nil {
			return nil, "", fmt.Errorf("fleet.settings.kubeconfig: %w", err)
		}
		if ns == "" {
			if ns, _, err = cc.Namespace(); err != nil {
				return nil, "", fmt.Errorf("fleet.settings.namespace: %w", err)
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
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes fleet: %w", err)
	}
	return New(Config{
		Client: cs, Namespace: ns, Kind: s.Kind, Name: s.Name,
		Status: HTTPStatus{Port: s.StatusPort}, Clock: clk, Logger: logger,
	})
}
