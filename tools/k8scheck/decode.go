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
	"k8s.io/apimachinery/pkg/runtime/serializer"
)

// Decoder turns one object's YAML into its Go type, strictly: a field the
// type does not have, or one given twice, is an error, and so is a kind
// that is not registered (only the API groups the manifests may use are).
type Decoder struct{ d runtime.Decoder }

// NewDecoder registers Kubernetes' groups the manifests use, the
// Prometheus Operator's monitoring.coreos.com/v1 and KEDA's keda.sh/v1alpha1.
func NewDecoder() (Decoder, error) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, policyv1.AddToScheme, autoscalingv2.AddToScheme,
		networkingv1.AddToScheme, monitoringv1.AddToScheme, kedav1alpha1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			return Decoder{}, fmt.Errorf("scheme: %w", err)
		}
	}
	return Decoder{d: serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()}, nil
}

// Decode decodes one object (YAML or JSON).
func (d Decoder) Decode(data []byte) (runtime.Object, error) {
	obj, _, err := d.d.Decode(data, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return obj, nil
}
