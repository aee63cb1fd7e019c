#!/usr/bin/env bash
# Builds the Kubernetes control plane that the Kubernetes fleet's tests run against:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler (from tools/k8s, a Go
# module of its own, pinned to Kubernetes v1.33.13) and KWOK (fake nodes and pods).
#
# The binaries go to a cache outside the repository, once per machine:
#   ${QSCALE_K8S_CACHE:-$HOME/.cache/qscale/k8s-v1.33.13}/bin
# A binary already there is not rebuilt. A cold build takes about 7 minutes on 2 cores.
# Prints the bin directory on its last line.
set -euo pipefail

K8S_VERSION=v1.33.13
KWOK_VERSION=v0.8.0
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${QSCALE_K8S_CACHE:-$HOME/.cache/qscale/k8s-$K8S_VERSION}
bin=$cache/bin
mkdir -p "$bin"

# kubectl and clients parse the server's version; an unstamped build reports v0.0.0.
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=33"
	ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

build() { # name package
	local name=$1 pkg=$2
	if [[ -x $bin/$name ]]; then
		return
	fi
	echo "k8s-toolchain: building $name ($pkg)" >&2
	(cd "$root/tools/k8s" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$bin/$name.tmp" "$pkg")
	mv "$bin/$name.tmp" "$bin/$name"
}

build etcd go.etcd.io/etcd/server/v3
build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
build kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager
build kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler

# KWOK follows newer Kubernetes libraries than the control plane, so it cannot share
# tools/k8s's module graph; its own go.mod has no replaces, so go install pins it.
if [[ ! -x $bin/kwok ]]; then
	echo "k8s-toolchain: building kwok $KWOK_VERSION" >&2
	tmp=$(mktemp -d)
	GOBIN=$tmp CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -trimpath" go install -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
	mv "$tmp/kwok" "$bin/kwok"
	rmdir "$tmp"
fi

echo "$bin"
