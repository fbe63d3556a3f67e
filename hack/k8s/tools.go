//go:build tools

// Package k8s pins the control-plane binaries that paved's end-to-end tests
// and demo run: etcd, kube-apiserver, kube-controller-manager and kubectl.
package k8s

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
