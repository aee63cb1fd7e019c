package k8sfleet_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/k8sfleet"
)

// faultProxy sits between the fleet and the real API server and answers
// chosen requests with an API error instead of forwarding them.
type faultProxy struct {
	mu     sync.Mutex // guards faults, seen
	faults []fault
	seen   map[string]int // "METHOD scale" etc. -> requests seen
}

type fault struct {
	method, suffix string // requests whose path ends with suffix
	code           int
	reason         string
	times          int // how many to fail; -1 = all
	served         int // how many it failed
}

func (p *faultProxy) add(f fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = append(p.faults, f)
}

// served reports how many requests the i-th fault answered.
func (p *faultProxy) served(i int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.faults[i].served
}

func (p *faultProxy) count(method, suffix string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.seen[method+" "+suffix]
}

// newFaultProxy returns a fleet whose client goes through the proxy.
func newFaultProxy(t *testing.T) (*faultProxy, *fixture) {
	fx := setup(t)
	target, err := url.Parse(fx.cl.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := rest.TransportFor(fx.cl.Config)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = rt
	p := &faultProxy{seen: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		for _, suffix := range []string{"/scale", "/pods", "/" + fx.name} {
			if strings.HasSuffix(r.URL.Path, suffix) {
				p.seen[r.Method+" "+suffix]++
			}
		}
		for i := range p.faults {
			f := &p.faults[i]
			if f.times != 0 && r.Method == f.method && strings.HasSuffix(r.URL.Path, f.suffix) {
				if f.times > 0 {
					f.times--
				}
				f.served++
				p.mu.Unlock()
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(f.code)
				fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":%q,"code":%d,"message":"injected by the test proxy"}`, f.reason, f.code)
				return
			}
		}
		p.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	f, err := k8sfleet.New(k8sfleet.Config{Client: cs, Namespace: fx.ns, Name: fx.name, Status: fx.status, MaxAttempts: 4})
	if err != nil {
		t.Fatal(err)
	}
	fx.fleet = f
	return p, fx
}

func TestThrottlingIsRetried(t *testing.T) {
	t.Parallel()
	p, fx := newFaultProxy(t)
	p.add(fault{method: "GET", suffix: "/scale", code: 429, reason: "TooManyRequests", times: 2})
	p.add(fault{method: "PUT", suffix: "/scale", code: 503, reason: "ServiceUnavailable", times: 1})
	if err := fx.fleet.SetDesired(t.Context(), 3); err != nil {
		t.Fatalf("SetDesired through two 429s and a 503: %v", err)
	}
	if got := p.served(0); got != 2 {
		t.Errorf("the 429 was served %d times, want 2", got)
	}
	if got := p.served(1); got != 1 {
		t.Errorf("the 503 was served %d times, want 1", got)
	}
	if got := p.count("PUT", "/scale"); got < 2 {
		t.Errorf("PUT scale seen %d times, want at least 2", got)
	}
	fx.settle(t)
}

func TestConflictRereadsTheScale(t *testing.T) {
	t.Parallel()
	p, fx := newFaultProxy(t)
	p.add(fault{method: "PUT", suffix: "/scale", code: 409, reason: "Conflict", times: 2})
	if err := fx.fleet.SetDesired(t.Context(), 2); err != nil {
		t.Fatalf("SetDesired through two conflicts: %v", err)
	}
	// The API server may add conflicts of its own: the Deployment's status
	// changes its resourceVersion.
	if got := p.count("GET", "/scale"); got < 3 {
		t.Errorf("GET scale seen %d times, want at least 3: the scale is read again after each conflict", got)
	}
	fx.settle(t)
}

func TestForbiddenIsReturnedClearly(t *testing.T) {
	t.Parallel()
	p, fx := newFaultProxy(t)
	ctx := t.Context()
	if err := fx.fleet.SetDesired(ctx, 2); err != nil {
		t.Fatal(err)
	}
	p.add(fault{method: "PUT", suffix: "/scale", code: 403, reason: "Forbidden", times: -1})
	err := fx.fleet.SetDesired(ctx, 5)
	if !errors.Is(err, k8sfleet.ErrWorkload) || !strings.Contains(err.Error(), "deployments/scale") {
		t.Fatalf("SetDesired when forbidden = %v, want ErrWorkload naming the RBAC it needs", err)
	}
	if strings.Count(err.Error(), "k8sfleet:") != 2 { // the fleet's context, then ErrWorkload's text
		t.Errorf("error wrapped more than once: %v", err)
	}
	t.Logf("a forbidden scale reads: %v", err)
	if got := p.served(0); got != 1 {
		t.Errorf("a forbidden PUT was tried %d times, want once (no retry)", got)
	}
	s, err := fx.fleet.State(ctx)
	if err != nil || s.Desired != 2 {
		t.Fatalf("State after a refused scale = %+v, %v; want the real size, 2", s, err)
	}
}

func TestThrottledForeverGivesUp(t *testing.T) {
	t.Parallel()
	p, fx := newFaultProxy(t)
	p.add(fault{method: "GET", suffix: "/scale", code: 429, reason: "TooManyRequests", times: -1})
	_, err := fx.fleet.State(t.Context())
	if err == nil || !strings.Contains(err.Error(), "after 4 attempts") || errors.Is(err, k8sfleet.ErrWorkload) {
		t.Fatalf("State throttled forever = %v, want a transient error after 4 attempts", err)
	}
	if err := fx.fleet.SetDesired(t.Context(), 1); err == nil {
		t.Fatal("SetDesired succeeded while every scale read is throttled")
	}
	var _ autoscale.Fleet = fx.fleet
}

// Annotating is best effort: when pods cannot be patched the scale-in still
// happens, and the failure is logged rather than returned.
func TestScaleInWhenPodsCannotBePatched(t *testing.T) {
	t.Parallel()
	p, fx := newFaultProxy(t)
	ctx := t.Context()
	if err := fx.fleet.SetDesired(ctx, 3); err != nil {
		t.Fatal(err)
	}
	fx.settle(t)
	p.add(fault{method: "PATCH", suffix: "", code: 403, reason: "Forbidden", times: -1})
	if err := fx.fleet.SetDesired(ctx, 1); err != nil {
		t.Fatalf("scale-in with pods unpatchable: %v", err)
	}
	fx.settle(t)
}
