// Package kubernetes holds qscale's raw Kubernetes manifests: the Helm chart
// deploy/helm/qscale rendered as release "qscale" with values.yaml, one file
// per template (rbac.yaml, autoscaler.yaml, worker.yaml, server.yaml), for
// users who apply files rather than install charts. Its test fails when
// they differ from the chart; regenerate them with
//
//	go generate ./deploy/kubernetes
//
// which needs helm ($QSCALE_HELM or on PATH).
package kubernetes

//go:generate go run ./internal/genmanifests
