package k8sfleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// WorkerStatus is the part of a worker's status document (docs/worker.md,
// format version 1) that ranks it for scale-in.
type WorkerStatus struct {
	// State is idle, busy, draining or stopped.
	State string `json:"state"`
	// Since is when State last changed.
	Since time.Time `json:"since"`
	// InFlight is how many messages the worker holds.
	InFlight int `json:"in_flight"`
}

// StatusReader reads one pod's worker status. It is called for ready pods
// only, in parallel, before a scale-in.
type StatusReader interface {
	ReadStatus(ctx context.Context, pod *corev1.Pod) (WorkerStatus, error)
}

// HTTPStatus reads GET http://<pod IP>:<Port>/status, the endpoint that
// `qscale worker --status-addr :<Port>` serves.
type HTTPStatus struct {
	Port int
	// Client defaults to a client without keep-alives across pods.
	Client *http.Client
	// Timeout bounds one read; default 1s. A pod that does not answer in
	// time ranks as unknown (kept over idle workers, removed before busy
	// ones).
	Timeout time.Duration
}

var defaultStatusClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}

// ReadStatus implements StatusReader.
func (h HTTPStatus) ReadStatus(ctx context.Context, pod *corev1.Pod) (WorkerStatus, error) {
	if pod.Status.PodIP == "" {
		return WorkerStatus{}, errors.New("pod has no IP")
	}
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	u := "http://" + net.JoinHostPort(pod.Status.PodIP, strconv.Itoa(h.Port)) + "/status"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return WorkerStatus{}, err
	}
	c := h.Client
	if c == nil {
		c = defaultStatusClient
	}
	return fetchStatus(c, req)
}

func fetchStatus(c *http.Client, req *http.Request) (WorkerStatus, error) {
	resp, err := c.Do(req)
	if err != nil {
		return WorkerStatus{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return WorkerStatus{}, fmt.Errorf("GET %s: %s", req.URL, resp.Status)
	}
	var st WorkerStatus
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&st); err != nil {
		return WorkerStatus{}, fmt.Errorf("GET %s: %w", req.URL, err)
	}
	return st, nil
}
