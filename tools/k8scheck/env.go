package k8scheck

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// SecretSamples stand for the values a manifest takes from a Secret, by
// variable, so the config can be loaded as the binary would: a Secret's
// value is not in the manifests.
var SecretSamples = map[string]string{
	"REDIS_URL":               "redis://redis.example:6379/0",
	"KAFKA_BOOTSTRAP_SERVERS": "kafka.example:9092",
	// Optional in production's Secret: a Redis Cluster's other seed nodes.
	"RPS_REDIS__CLUSTER__ADDRS": "redis-2.example:6379,redis-3.example:6379",
}

// Environ is the container's environment as KEY=VALUE pairs, in its order,
// with a sample for each value taken from a Secret. A value taken from
// anywhere else, or from a Secret without a sample, is an error: the check
// could not load the config the binary would.
func Environ(c corev1.Container) ([]string, error) {
	if len(c.EnvFrom) > 0 {
		return nil, fmt.Errorf("container %s: envFrom hides the variables' names from the checks; list each in env", c.Name)
	}
	environ := make([]string, 0, len(c.Env))
	for _, e := range c.Env {
		v := e.Value
		if e.ValueFrom != nil {
			sample, ok := SecretSamples[e.Name]
			if e.ValueFrom.SecretKeyRef == nil || !ok {
				return nil, fmt.Errorf("container %s: %s comes from %+v, for which the checks have no sample (SecretSamples)", c.Name, e.Name, *e.ValueFrom)
			}
			v = sample
		}
		environ = append(environ, e.Name+"="+v)
	}
	return environ, nil
}
