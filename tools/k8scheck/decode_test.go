package k8scheck_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/tools/k8scheck"
)

// The decoder refuses what kubectl's client-side parsing would let through
// and the API server would drop or refuse: misspelt and unknown fields,
// also in the custom resources, and kinds it does not know.
func TestDecoder_IsStrict(t *testing.T) {
	dec, err := k8scheck.NewDecoder()
	require.NoError(t, err)
	for name, doc := range map[string]string{
		"misspelt_probe": `
apiVersion: apps/v1
kind: Deployment
metadata: {name: x}
spec:
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec:
      containers:
        - name: c
          image: i:1
          livenesProbe: {tcpSocket: {port: 1}}`,
		"duplicate_field": `
apiVersion: v1
kind: Service
metadata: {name: x}
spec:
  type: ClusterIP
  type: NodePort`,
		"unknown_scaledobject_field": `
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: x}
spec:
  scaleTargetRef: {name: w}
  maxReplicas: 6
  triggers: [{type: kafka, metadata: {}}]`,
		"unknown_servicemonitor_field": `
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: x}
spec:
  selector: {}
  endpoint: [{port: http}]`,
		"unknown_kind": `
apiVersion: example.com/v1
kind: Widget
metadata: {name: x}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := dec.Decode([]byte(doc))
			assert.Error(t, err)
		})
	}
	_, err = dec.Decode([]byte("apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {type: ClusterIP}\n"))
	assert.NoError(t, err, "a valid object decodes")
}
