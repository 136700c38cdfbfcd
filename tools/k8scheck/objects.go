package k8scheck

import (
	"fmt"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Objects are one overlay's objects, by type.
type Objects struct {
	Overlay         string
	Namespaces      []*corev1.Namespace
	ServiceAccounts []*corev1.ServiceAccount
	Services        []*corev1.Service
	Deployments     []*appsv1.Deployment
	StatefulSets    []*appsv1.StatefulSet
	PDBs            []*policyv1.PodDisruptionBudget
	HPAs            []*autoscalingv2.HorizontalPodAutoscaler
	NetworkPolicies []*networkingv1.NetworkPolicy
	ServiceMonitors []*monitoringv1.ServiceMonitor
	PodMonitors     []*monitoringv1.PodMonitor
	PrometheusRules []*monitoringv1.PrometheusRule
	ScaledObjects   []*kedav1alpha1.ScaledObject
}

// Workload is a pod template with the object that owns it.
type Workload struct {
	Kind, Name string
	Replicas   *int32
	Template   *corev1.PodTemplateSpec
}

// Sort files each object under its type; a type the manifests should not
// use is an error.
func Sort(overlay string, objs []runtime.Object) (Objects, error) {
	o := Objects{Overlay: overlay}
	for _, obj := range objs {
		switch v := obj.(type) {
		case *corev1.Namespace:
			o.Namespaces = append(o.Namespaces, v)
		case *corev1.ServiceAccount:
			o.ServiceAccounts = append(o.ServiceAccounts, v)
		case *corev1.Service:
			o.Services = append(o.Services, v)
		case *appsv1.Deployment:
			o.Deployments = append(o.Deployments, v)
		case *appsv1.StatefulSet:
			o.StatefulSets = append(o.StatefulSets, v)
		case *policyv1.PodDisruptionBudget:
			o.PDBs = append(o.PDBs, v)
		case *autoscalingv2.HorizontalPodAutoscaler:
			o.HPAs = append(o.HPAs, v)
		case *networkingv1.NetworkPolicy:
			o.NetworkPolicies = append(o.NetworkPolicies, v)
		case *monitoringv1.ServiceMonitor:
			o.ServiceMonitors = append(o.ServiceMonitors, v)
		case *monitoringv1.PodMonitor:
			o.PodMonitors = append(o.PodMonitors, v)
		case *monitoringv1.PrometheusRule:
			o.PrometheusRules = append(o.PrometheusRules, v)
		case *kedav1alpha1.ScaledObject:
			o.ScaledObjects = append(o.ScaledObjects, v)
		default:
			return Objects{}, fmt.Errorf("%s: %T is no type the checks know", overlay, obj)
		}
	}
	return o, nil
}

// Workloads are every Deployment's and StatefulSet's pod template.
func (o Objects) Workloads() []Workload {
	var out []Workload
	for _, d := range o.Deployments {
		out = append(out, Workload{Kind: "Deployment", Name: d.Name, Replicas: d.Spec.Replicas, Template: &d.Spec.Template})
	}
	for _, s := range o.StatefulSets {
		out = append(out, Workload{Kind: "StatefulSet", Name: s.Name, Replicas: s.Spec.Replicas, Template: &s.Spec.Template})
	}
	return out
}

// Deployment is the Deployment named name, or nil.
func (o Objects) Deployment(name string) *appsv1.Deployment {
	for _, d := range o.Deployments {
		if d.Name == name {
			return d
		}
	}
	return nil
}

// Service is the Service named name, or nil.
func (o Objects) Service(name string) *corev1.Service {
	for _, s := range o.Services {
		if s.Name == name {
			return s
		}
	}
	return nil
}
