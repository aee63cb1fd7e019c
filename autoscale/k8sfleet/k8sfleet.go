// Package k8sfleet is the Kubernetes fleet target: an autoscale.Fleet that
// sizes a Deployment or a StatefulSet through its scale subresource.
//
// State reads the scale subresource (desired replicas) and the workload's
// status (ready replicas) on every call; nothing is cached, so a change made
// by someone else (kubectl scale, a rollout) is seen at the next tick.
//
// Scale-in spares busy workers: before lowering a Deployment's replicas, the
// fleet reads every pod's busy/idle state (a StatusReader: in production the
// worker's GET /status on the pod IP), orders the pods with
// workerstatus.Order and writes the controller.kubernetes.io/pod-deletion-cost
// annotation from that order, so that the ReplicaSet controller removes
// pods not yet ready first, then leaving and idle workers (longest idle
// first), then busy ones. This is best effort: see
// docs/kubernetes.md for where it cannot help (StatefulSets, races).
package k8sfleet

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	appsv1client "k8s.io/client-go/kubernetes/typed/apps/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/worker/workerstatus"
)

// DeletionCostAnnotation is the annotation the ReplicaSet controller reads to
// rank pods for removal: lower values are removed first.
const DeletionCostAnnotation = "controller.kubernetes.io/pod-deletion-cost"

// Deletion costs written on scale-in: the pods' place in
// workerstatus.Order, the scale-in order every qscale fleet follows. Lower
// is removed first. Each class of the order has its band, and within a band
// the cost is the base plus the pod's place in its class, so the
// ReplicaSet's ranking is the order itself. Pods not yet ready are ranked
// first by the ReplicaSet controller whatever their cost; their cost is set
// lowest as well so the annotation tells the same story.
const (
	CostNotReady = -2_000_000 // pending, not ready, no status to read
	CostLeaving  = -1_500_000 // the worker reported "stopped", or drains holding nothing
	CostIdle     = -1_000_000 // idle, the longest idle first
	CostUnknown  = 1          // status unreadable: kept over idle workers
	CostBusy     = 1_000_000  // holds messages: the fewest first

	// costBand is the width of a class's band: places beyond it share
	// the band's last cost.
	costBand = 500_000
)

// Kind is the workload kind a Fleet scales.
type Kind string

// The workload kinds.
const (
	Deployment  Kind = "Deployment"
	StatefulSet Kind = "StatefulSet"
)

// ErrWorkload is returned (wrapped) when the workload cannot be read or
// scaled for a reason retrying will not fix: not found, forbidden, invalid.
var ErrWorkload = errors.New("k8sfleet: workload unavailable")

// Config is a Fleet's settings.
type Config struct {
	// Client talks to the API server: a kubernetes.Interface (the full
	// clientset) will do, or NewClient's two typed clients. Required.
	Client Client
	// Namespace and Name name the workload; Kind is Deployment (default)
	// or StatefulSet.
	Namespace string
	Name      string
	Kind      Kind
	// Status reads workers' busy/idle state before a scale-in. Default:
	// HTTPStatus{Port: 9090}, GET http://<pod IP>:9090/status.
	Status StatusReader
	// StatusConcurrency bounds parallel status reads; default 32.
	StatusConcurrency int
	// Clock times retry backoff; default clock.Real{}.
	Clock clock.Clock
	// Logger receives warnings (an annotation that could not be written, a
	// retried API error). Default: discard.
	Logger *slog.Logger
	// Guard, when set, is asked before every write (the pods' deletion
	// costs, each try of the scale): an error stops SetDesired with it.
	// Leader election sets it (package leader), so that only the process
	// holding the Lease changes the workload, even one that wakes from a
	// pause past its Lease.
	Guard Guard
	// CostSettle is how long a scale-in waits between writing the pods'
	// deletion costs and lowering the replica count; default 1 s, negative
	// for no wait. The ReplicaSet controller ranks pods from its own cache,
	// which learns of the annotations through a watch: lowered at once, the
	// count can reach the controller (two hops: Deployment, ReplicaSet)
	// before the costs do (one hop) on a loaded control plane, and it then
	// removes busy pods. Scale-in is never urgent; a second is cheap.
	CostSettle time.Duration
	// MaxAttempts bounds tries of one API call on throttling (429), conflicts
	// (409), timeouts and server errors (5xx); default 6. Backoff starts at
	// 50 ms and doubles, capped at 2 s, unless the server sent Retry-After.
	MaxAttempts int
}

func (c Config) withDefaults() Config {
	if c.Kind == "" {
		c.Kind = Deployment
	}
	if c.Status == nil {
		c.Status = HTTPStatus{Port: 9090}
	}
	if c.StatusConcurrency <= 0 {
		c.StatusConcurrency = 32
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 6
	}
	if c.CostSettle == 0 {
		c.CostSettle = time.Second
	}
	return c
}

func (c Config) validate() error {
	switch {
	case c.Client == nil:
		return errors.New("k8sfleet: Config.Client is required")
	case c.Namespace == "":
		return errors.New("k8sfleet: Config.Namespace is required")
	case c.Name == "":
		return errors.New("k8sfleet: Config.Name (the deployment or statefulset) is required")
	case c.Kind != Deployment && c.Kind != StatefulSet:
		return fmt.Errorf("k8sfleet: Config.Kind %q: want Deployment or StatefulSet", c.Kind)
	}
	return nil
}

// Client is the part of the Kubernetes API a Fleet uses: the apps/v1 group
// (the workload, its scale subresource) and core/v1 (its pods). Client-go's
// kubernetes.Interface implements it; NewClient builds just these two.
type Client interface {
	AppsV1() appsv1client.AppsV1Interface
	CoreV1() corev1client.CoreV1Interface
}

// typedClients is a Client of the two groups' typed clients alone, so that
// a binary using the fleet links no other API group's client.
type typedClients struct {
	apps *appsv1client.AppsV1Client
	core *corev1client.CoreV1Client
}

func (c typedClients) AppsV1() appsv1client.AppsV1Interface { return c.apps }
func (c typedClients) CoreV1() corev1client.CoreV1Interface { return c.core }

// NewClient returns a Client for cfg made of the apps/v1 and core/v1 typed
// clients only, sharing one HTTP client.
func NewClient(cfg *rest.Config) (Client, error) {
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("k8sfleet: %w", err)
	}
	apps, err := appsv1client.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, fmt.Errorf("k8sfleet: %w", err)
	}
	core, err := corev1client.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, fmt.Errorf("k8sfleet: %w", err)
	}
	return typedClients{apps: apps, core: core}, nil
}

// Guard says whether this process may change the workload now: nil, or
// why not.
type Guard interface {
	Leading() error
}

// guard asks c.Guard, if any.
func (f *Fleet) guard() error {
	if f.c.Guard == nil {
		return nil
	}
	if err := f.c.Guard.Leading(); err != nil {
		return fmt.Errorf("not scaling: %w", err)
	}
	return nil
}

// Fleet is a Deployment or StatefulSet seen as an autoscale.Fleet. It is safe
// for concurrent use.
type Fleet struct {
	c Config

	// setMu serialises SetDesired: annotating pods and writing the scale
	// belong together.
	setMu sync.Mutex
	// paused is the workload's PausedAnnotation as State last read it.
	paused atomic.Bool
}

var _ autoscale.Fleet = (*Fleet)(nil)

// New checks cfg and returns a Fleet. It makes no API call.
func New(cfg Config) (*Fleet, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Fleet{c: cfg}, nil
}

func (f *Fleet) String() string {
	return fmt.Sprintf("%s %s/%s", f.c.Kind, f.c.Namespace, f.c.Name)
}

// State implements autoscale.Fleet: Desired is the scale subresource's
// spec.replicas; Running the workload's ready replicas (the ReplicaSet
// controller does not count terminating pods); Starting the rest of Desired.
func (f *Fleet) State(ctx context.Context) (autoscale.FleetState, error) {
	if err := ctx.Err(); err != nil {
		return autoscale.FleetState{}, fmt.Errorf("k8sfleet: %s: %w", f, err)
	}
	sc, err := f.getScale(ctx)
	if err != nil {
		return autoscale.FleetState{}, err
	}
	ready, err := f.readyReplicas(ctx)
	if err != nil {
		return autoscale.FleetState{}, err
	}
	s := autoscale.FleetState{Desired: int(sc.Spec.Replicas), Running: ready}
	if s.Desired > ready {
		s.Starting = s.Desired - ready
	}
	if sc.Status.Selector != "" {
		// The workers' status documents give the busy count (the
		// controller's busy floor) and the counters it learns from.
		cs, err := f.readWorkers(ctx, sc.Status.Selector)
		if err != nil {
			return autoscale.FleetState{}, err
		}
		autoscale.WorkersFromCandidates(&s, cs)
	}
	return s, nil
}

// readWorkers reads the status of the workload's live pods (terminating
// ones left out) as candidates for workerstatus.Order.
func (f *Fleet) readWorkers(ctx context.Context, selector string) ([]workerstatus.Candidate, error) {
	var pods *corev1.PodList
	err := f.retry(ctx, "list pods", func(ctx context.Context) (err error) {
		pods, err = f.c.Client.CoreV1().Pods(f.c.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
		return err
	})
	if err != nil {
		return nil, err
	}
	var live []*corev1.Pod
	var cs []workerstatus.Candidate
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.DeletionTimestamp != nil {
			continue
		}
		live = append(live, p)
		cs = append(cs, workerstatus.Candidate{ID: p.Name, Starting: !podReady(p), StartedAt: p.CreationTimestamp.Time})
	}
	if err := workerstatus.ReadAll(ctx, cs, f.c.StatusConcurrency, func(ctx context.Context, i int) (workerstatus.Report, error) {
		return f.c.Status.ReadStatus(ctx, live[i])
	}); err != nil {
		return nil, fmt.Errorf("k8sfleet: %s: reading worker status: %w", f, err)
	}
	return cs, nil
}

// SetDesired implements autoscale.Fleet. On scale-in of a Deployment it first
// annotates the pods with their deletion cost (errors there are logged, not
// returned: the scale-in still happens, with the ReplicaSet's own ranking).
func (f *Fleet) SetDesired(ctx context.Context, n int) error {
	if n < 0 {
		return fmt.Errorf("k8sfleet: %s: SetDesired(%d): %w", f, n, autoscale.ErrInvalidDesired)
	}
	if n > 1<<30 {
		return fmt.Errorf("k8sfleet: %s: SetDesired(%d): above the replica limit: %w", f, n, autoscale.ErrInvalidDesired)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("k8sfleet: %s: %w", f, err)
	}
	f.setMu.Lock()
	defer f.setMu.Unlock()

	sc, err := f.getScale(ctx)
	if err != nil {
		return err
	}
	if int(sc.Spec.Replicas) == n {
		return nil
	}
	// Scaling to zero removes every pod: no ranking to do.
	if n > 0 && n < int(sc.Spec.Replicas) && f.c.Kind == Deployment {
		if err := f.guard(); err != nil {
			return fmt.Errorf("k8sfleet: %s: %w", f, err)
		}
		patched, err := f.markDeletionCosts(ctx, sc.Status.Selector, int(sc.Spec.Replicas)-n)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("k8sfleet: %s: %w", f, ctx.Err())
			}
			f.c.Logger.Warn("k8sfleet: scale-in without deletion costs: busy workers may be removed", "fleet", f.String(), "err", err)
		}
		if patched > 0 && f.c.CostSettle > 0 {
			t := f.c.Clock.NewTimer(f.c.CostSettle)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("k8sfleet: %s: %w", f, ctx.Err())
			case <-t.C():
			}
		}
	}
	for attempt := 1; ; attempt++ {
		sc.Spec.Replicas = int32(n)
		_, err = f.updateScale(ctx, sc)
		if err == nil {
			return nil
		}
		if !apierrors.IsConflict(err) || attempt >= f.c.MaxAttempts {
			return err // already wrapped by updateScale
		}
		// Someone else changed the workload: read the scale again and
		// apply n on top of the fresh resourceVersion.
		f.c.Logger.Debug("k8sfleet: scale changed concurrently, retrying", "fleet", f.String(), "attempt", attempt)
		if sc, err = f.getScale(ctx); err != nil {
			return err
		}
		if int(sc.Spec.Replicas) == n {
			return nil
		}
	}
}

func (f *Fleet) getScale(ctx context.Context) (*autoscalingv1.Scale, error) {
	var sc *autoscalingv1.Scale
	err := f.retry(ctx, "get scale", func(ctx context.Context) (err error) {
		switch f.c.Kind {
		case StatefulSet:
			sc, err = f.c.Client.AppsV1().StatefulSets(f.c.Namespace).GetScale(ctx, f.c.Name, metav1.GetOptions{})
		default:
			sc, err = f.c.Client.AppsV1().Deployments(f.c.Namespace).GetScale(ctx, f.c.Name, metav1.GetOptions{})
		}
		return err
	})
	return sc, err
}

// updateScale writes the scale once; conflicts are handled by the caller,
// which must re-read the scale.
func (f *Fleet) updateScale(ctx context.Context, sc *autoscalingv1.Scale) (*autoscalingv1.Scale, error) {
	var out *autoscalingv1.Scale
	err := f.retryIf(ctx, "update scale", retryableNotConflict, func(ctx context.Context) (err error) {
		if err := f.guard(); err != nil {
			return err // checked before every try: a retry may come late
		}
		switch f.c.Kind {
		case StatefulSet:
			out, err = f.c.Client.AppsV1().StatefulSets(f.c.Namespace).UpdateScale(ctx, f.c.Name, sc, metav1.UpdateOptions{})
		default:
			out, err = f.c.Client.AppsV1().Deployments(f.c.Namespace).UpdateScale(ctx, f.c.Name, sc, metav1.UpdateOptions{})
		}
		return err
	})
	return out, err
}

func (f *Fleet) readyReplicas(ctx context.Context) (int, error) {
	var ready int32
	err := f.retry(ctx, "get status", func(ctx context.Context) error {
		switch f.c.Kind {
		case StatefulSet:
			s, err := f.c.Client.AppsV1().StatefulSets(f.c.Namespace).Get(ctx, f.c.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			ready = s.Status.ReadyReplicas
			f.notePaused(s.Annotations)
		default:
			d, err := f.c.Client.AppsV1().Deployments(f.c.Namespace).Get(ctx, f.c.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			ready = d.Status.ReadyReplicas
			f.notePaused(d.Annotations)
		}
		return nil
	})
	return int(ready), err
}

// markDeletionCosts reads every live pod of the workload, ranks them, and
// writes deletion costs so that the ReplicaSet's k cheapest are the fleet's k
// cheapest. To keep API writes few, it patches only what the ranking needs:
// the k victims (unless the ReplicaSet ranks them first anyway, not being
// ready), and the pods that would otherwise rank at or below a victim (no
// annotation counts as 0, stale ones from an earlier scale-in as they are).
//
// It returns how many annotations it wrote.
func (f *Fleet) markDeletionCosts(ctx context.Context, selector string, k int) (int, error) {
	if selector == "" {
		return 0, errors.New("the scale subresource reports no pod selector")
	}
	var pods *corev1.PodList
	err := f.retry(ctx, "list pods", func(ctx context.Context) (err error) {
		pods, err = f.c.Client.CoreV1().Pods(f.c.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
		return err
	})
	if err != nil {
		return 0, err
	}
	costs := Costs(ctx, f.c.Status, pods.Items, f.c.StatusConcurrency)
	patches := Patches(pods.Items, costs, k)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex // guards errs
		errs  []error
		slots = make(chan struct{}, f.c.StatusConcurrency)
	)
	for name, cost := range patches {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			patch := fmt.Appendf(nil, `{"metadata":{"annotations":{%q:%q}}}`, DeletionCostAnnotation, strconv.Itoa(cost))
			err := f.retry(ctx, "annotate pod", func(ctx context.Context) error {
				if err := f.guard(); err != nil {
					return err
				}
				_, err := f.c.Client.CoreV1().Pods(f.c.Namespace).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
				return err
			})
			if err != nil && !errors.Is(err, errGone) {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return len(patches) - len(errs), errors.Join(errs...)
}

// Patches returns the annotations to write (pod name -> cost) so that the
// ReplicaSet removes the k pods of lowest cost first: the victims whose
// annotation differs, except pods not ready (ranked first whatever their
// cost), and every other pod whose current cost (0 without the annotation)
// is not above the highest victim's.
func Patches(pods []corev1.Pod, costs map[string]int, k int) map[string]int {
	type ranked struct {
		name      string
		cost, cur int
		has       bool
	}
	var rs []ranked
	for i := range pods {
		p := &pods[i]
		c, ok := costs[p.Name]
		if !ok {
			continue
		}
		r := ranked{name: p.Name, cost: c}
		if v, ok := p.Annotations[DeletionCostAnnotation]; ok {
			if n, err := strconv.Atoi(v); err == nil {
				r.cur, r.has = n, true
			}
		}
		rs = append(rs, r)
	}
	slices.SortFunc(rs, func(a, b ranked) int { return cmp.Or(cmp.Compare(a.cost, b.cost), cmp.Compare(a.name, b.name)) })
	k = min(max(k, 0), len(rs))
	out := map[string]int{}
	if k == 0 {
		return out
	}
	highest := rs[k-1].cost
	for i, r := range rs {
		if i < k {
			if !notReadyCost(r.cost) && (!r.has || r.cur != r.cost) {
				out[r.name] = r.cost
			}
			continue
		}
		if r.cur <= highest && (!r.has || r.cur != r.cost) {
			out[r.name] = r.cost
		}
	}
	return out
}

// Costs computes the deletion cost of each live pod (terminating pods are
// left out) from the workers' reports, read in parallel, and their place in
// workerstatus.Order. Exported for tests and for tools that want to show
// the ranking.
func Costs(ctx context.Context, r StatusReader, pods []corev1.Pod, concurrency int) map[string]int {
	var live []*corev1.Pod
	var cs []workerstatus.Candidate
	for i := range pods {
		p := &pods[i]
		if p.DeletionTimestamp != nil {
			continue
		}
		live = append(live, p)
		cs = append(cs, workerstatus.Candidate{ID: p.Name, Starting: !podReady(p), StartedAt: p.CreationTimestamp.Time})
	}
	_ = workerstatus.ReadAll(ctx, cs, concurrency, func(ctx context.Context, i int) (workerstatus.Report, error) {
		return r.ReadStatus(ctx, live[i])
	})
	out := make(map[string]int, len(cs))
	place := map[workerstatus.Class]int{}
	for _, c := range workerstatus.Order(cs) {
		cl := c.Class()
		out[c.ID] = classCost(cl) + min(place[cl], costBand-1)
		place[cl]++
	}
	return out
}

func classCost(c workerstatus.Class) int {
	switch c {
	case workerstatus.ClassStarting:
		return CostNotReady
	case workerstatus.ClassLeaving:
		return CostLeaving
	case workerstatus.ClassIdle:
		return CostIdle
	case workerstatus.ClassBusy:
		return CostBusy
	}
	return CostUnknown
}

// notReadyCost reports whether c is in the band of pods not ready.
func notReadyCost(c int) bool { return c >= CostNotReady && c < CostNotReady+costBand }

func podReady(p *corev1.Pod) bool {
	if p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
