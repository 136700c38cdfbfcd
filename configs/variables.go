package configs

import "github.com/1000x-rps-server/rps-server/configs/internal/envnames"

// ReadsVariable reports whether Load reads the environment variable name: one
// of the original's names, RPS_CONFIG, the RPS_ variable of a key or of a
// key's former name (any RPS_KAFKA__SETTINGS__ suffix, a librdkafka property),
// or a secret's _FILE variable. Deployment files are
// checked against it, so a misspelt variable cannot be ignored in silence.
func ReadsVariable(name string) bool {
	return envnames.Reads(name, known(), secret)
}

// ServiceLinkVariables lists, sorted, the variables of environ that Load
// skips because Kubernetes set them for a Service of the pod's namespace
// (RPS_SERVER_PORT=tcp://10.96.12.34:8000 for a Service named rps-server),
// so that start-up can say so in its log.
func ServiceLinkVariables(environ []string) []string {
	return envnames.ServiceLinks(envnames.ParseEnviron(environ), known())
}
