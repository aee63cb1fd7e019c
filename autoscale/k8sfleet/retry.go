package k8sfleet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// errGone marks an object deleted while the fleet worked on it (a pod the
// ReplicaSet removed between the list and the annotation).
var errGone = errors.New("object is gone")

const (
	backoffBase = 50 * time.Millisecond
	backoffMax  = 2 * time.Second
)

// retryable reports whether an API error is worth another try: throttling,
// conflicts, timeouts, server errors and broken connections.
func retryable(err error) bool {
	return apierrors.IsConflict(err) || retryableNotConflict(err)
}

func retryableNotConflict(err error) bool {
	var ne net.Error
	switch {
	case apierrors.IsTooManyRequests(err), apierrors.IsServerTimeout(err), apierrors.IsTimeout(err),
		apierrors.IsServiceUnavailable(err), apierrors.IsInternalError(err), apierrors.IsUnexpectedServerError(err):
		return true
	case errors.As(err, &ne):
		return true
	}
	var se apierrors.APIStatus
	if errors.As(err, &se) && se.Status().Code >= 500 {
		return true
	}
	return false
}

func (f *Fleet) retry(ctx context.Context, op string, call func(context.Context) error) error {
	return f.retryIf(ctx, op, retryable, call)
}

// retryIf runs call until it succeeds, fails with an error ok does not
// accept, or MaxAttempts are spent, waiting with exponential backoff (or the
// server's Retry-After) on the injected clock between tries. Errors come back
// through apiError: wrapped with the operation and the workload, and with
// ErrWorkload for the ones retrying cannot fix.
func (f *Fleet) retryIf(ctx context.Context, op string, ok func(error) bool, call func(context.Context) error) error {
	wait := backoffBase
	for attempt := 1; ; attempt++ {
		err := call(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("k8sfleet: %s: %s: %w", f, op, ctx.Err())
		}
		if !ok(err) || attempt >= f.c.MaxAttempts {
			if attempt > 1 {
				err = fmt.Errorf("after %d attempts: %w", attempt, err)
			}
			return f.apiError(op, err)
		}
		d := wait
		if s, has := apierrors.SuggestsClientDelay(err); has && s > 0 {
			d = min(time.Duration(s)*time.Second, 10*backoffMax)
		}
		f.c.Logger.Info("k8sfleet: API call failed, retrying", "fleet", f.String(), "op", op, "attempt", attempt, "wait", d.String(), "err", err)
		t := f.c.Clock.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("k8sfleet: %s: %s: %w", f, op, ctx.Err())
		case <-t.C():
		}
		wait = min(2*wait, backoffMax)
	}
}

// apiError wraps an API error with what the fleet was doing and, for errors
// that need an operator (missing permission, missing workload, invalid
// request), ErrWorkload and a hint.
func (f *Fleet) apiError(op string, err error) error {
	hint := ""
	switch {
	case apierrors.IsForbidden(err):
		hint = fmt.Sprintf(" (the autoscaler's service account needs RBAC: get/update %s/scale, get %s, list/patch pods in namespace %q; see deploy/kubernetes/rbac.yaml)", f.resource(), f.resource(), f.c.Namespace)
	case apierrors.IsUnauthorized(err):
		hint = " (the API server refused the credentials: check the kubeconfig or the pod's service account token)"
	case apierrors.IsNotFound(err):
		if op == "annotate pod" {
			return fmt.Errorf("k8sfleet: %s: %s: %w", f, op, errGone)
		}
		hint = fmt.Sprintf(" (no %s %q in namespace %q)", f.c.Kind, f.c.Name, f.c.Namespace)
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
	default:
		return fmt.Errorf("k8sfleet: %s: %s: %w", f, op, err)
	}
	return fmt.Errorf("k8sfleet: %s: %s: %w%s: %w", f, op, ErrWorkload, hint, err)
}

func (f *Fleet) resource() string {
	if f.c.Kind == StatefulSet {
		return "statefulsets"
	}
	return "deployments"
}
