package k8sfleet

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/qscale/qscale/worker/workerstatus"
)

// StatusReader reads one pod's worker status (docs/worker.md). It is
// called for ready pods only, in parallel, before a scale-in.
type StatusReader interface {
	ReadStatus(ctx context.Context, pod *corev1.Pod) (workerstatus.Report, error)
}

// HTTPStatus reads GET http://<pod IP>:<Port>/status, the endpoint that
// `qscale worker --status-addr :<Port>` serves, through
// workerstatus.Client.
type HTTPStatus struct {
	Port int
	// Client sends the request; default: workerstatus.Client's (no proxy,
	// no keep-alives across pods).
	Client *http.Client
	// Timeout bounds one read; default 1s. A pod that does not answer in
	// time ranks as unknown (kept over idle workers, removed before busy
	// ones).
	Timeout time.Duration
}

// ReadStatus implements StatusReader.
func (h HTTPStatus) ReadStatus(ctx context.Context, pod *corev1.Pod) (workerstatus.Report, error) {
	if pod.Status.PodIP == "" {
		return workerstatus.Report{}, errors.New("pod has no IP")
	}
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = time.Second
	}
	c := workerstatus.Client{HTTP: h.Client, Timeout: timeout}
	return c.Status(ctx, net.JoinHostPort(pod.Status.PodIP, strconv.Itoa(h.Port)))
}
