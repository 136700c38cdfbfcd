// Package k8scheck renders the Kubernetes manifests of deployments/kubernetes
// as `kubectl apply -k` would (the kustomize Go API, root-only file access),
// decodes every object strictly into its Go type (Kubernetes' own, the
// Prometheus Operator's, KEDA's), so an unknown or misspelt field fails, and
// its tests hold the objects to what a platform team checks before a
// deploy and to what the binaries really read and serve: the settings, the
// routes and ports, the drains, the image.
//
// It is a module of its own so that kustomize and the Kubernetes types stay
// out of the service's go.mod. Run it with `go tool task k8s:check` (part
// of `go tool task test`); `go tool task k8s:rules` regenerates the
// PrometheusRule from observability/prometheus.
package k8scheck
