package configs

import (
	"slices"
	"testing"
)

func TestReadsVariable(t *testing.T) {
	for name, want := range map[string]bool{
		"REDIS_URL":                               true,  // the original's
		"RATE_LIMIT_CAPACITY":                     true,  // the original's
		"RPS_GATE__CAPACITY":                      true,  // a key's
		"RPS_WORKER__ADMIN_ADDR":                  true,  // a key's
		"RPS_WORKER__METRICS_ADDR":                true,  // an alias's
		"RPS_HTTP__ADMIN_ADDR":                    true,  // a key's
		"RPS_KAFKA__SETTINGS__LINGER_MS":          true,  // a librdkafka property
		"RPS_CONFIG":                              true,  // the YAML file
		"RPS_GATE__CAPACITI":                      false, // a typo
		"RPS_KAFKA__SETTINGS":                     false, // the map itself
		"REDIS_HOST":                              false, // nobody's
		"LOG_FORMAT":                              false, // only RPS_LOG__FORMAT
		"OTEL_EXPORTER_OTLP_ENDPOINT":             true,  // OpenTelemetry's, tracing.endpoint
		"OTEL_SERVICE_NAME":                       true,  // OpenTelemetry's, tracing.service_name
		"RPS_TRACING__SAMPLE_RATIO":               true,  // a key's
		"RPS_TASK__REPLY_TIMEOUT":                 true,  // a key's
		"RPS_KAFKA__REPLY_TIMEOUT":                true,  // an alias's
		"KAFKA_GIFT_CODE_TIMEOUT":                 true,  // the original's
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT":      false, // not configs'
		"RPS_REDIS__PASSWORD_FILE":                true,  // a secret, from a file
		"RPS_REDIS__URL_FILE":                     true,  // a secret, from a file
		"RPS_KAFKA__SETTINGS__SASL_PASSWORD_FILE": true,  // a librdkafka credential, from a file
		"RPS_REDIS__TLS__CA_FILE":                 true,  // a key whose name ends in _file
		"RPS_GATE__CAPACITY_FILE":                 false, // no secret
		"RPS_NOPE_FILE":                           false, // nobody's
		"REDIS_URL_FILE":                          false, // the original's names have none
	} {
		if got := ReadsVariable(name); got != want {
			t.Errorf("ReadsVariable(%q) = %v, want %v", name, got, want)
		}
	}
}

// A pod next to a Service named rps-server loads, and the variables skipped
// are the ones start-up names in its log.
func TestLoad_SkipsServiceLinksAndNamesThem(t *testing.T) {
	environ := []string{
		"RPS_SERVER_SERVICE_HOST=10.96.12.34", "RPS_SERVER_SERVICE_PORT=8000", "RPS_SERVER_SERVICE_PORT_HTTP=8000",
		"RPS_SERVER_PORT=tcp://10.96.12.34:8000", "RPS_SERVER_PORT_8000_TCP=tcp://10.96.12.34:8000",
		"RPS_SERVER_PORT_8000_TCP_PROTO=tcp", "RPS_SERVER_PORT_8000_TCP_PORT=8000", "RPS_SERVER_PORT_8000_TCP_ADDR=10.96.12.34",
		"RPS_HTTP__PORT=9000",
	}
	cfg, err := Load(LoadOptions{Environ: environ})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if cfg.HTTP.Port != 9000 {
		t.Errorf("http.port = %d, want 9000 from RPS_HTTP__PORT", cfg.HTTP.Port)
	}
	got := ServiceLinkVariables(environ)
	if len(got) != 8 || got[0] != "RPS_SERVER_PORT" || slices.Contains(got, "RPS_HTTP__PORT") {
		t.Errorf("ServiceLinkVariables = %q, want the 8 RPS_SERVER_ variables", got)
	}
	if _, err := Load(LoadOptions{Environ: []string{"RPS_SERVER_PORT=9000"}}); err == nil {
		t.Error("RPS_SERVER_PORT=9000 (a setting's value, not a link's) loaded; want unknown setting")
	}
}
