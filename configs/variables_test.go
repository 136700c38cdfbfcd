package configs

import "testing"

func TestReadsVariable(t *testing.T) {
	for name, want := range map[string]bool{
		"REDIS_URL":                          true,  // the original's
		"RATE_LIMIT_CAPACITY":                true,  // the original's
		"RPS_GATE__CAPACITY":                 true,  // a key's
		"RPS_WORKER__METRICS_ADDR":           true,  // a key's
		"RPS_KAFKA__SETTINGS__LINGER_MS":     true,  // a librdkafka property
		"RPS_CONFIG":                         true,  // the YAML file
		"RPS_GATE__CAPACITI":                 false, // a typo
		"RPS_KAFKA__SETTINGS":                false, // the map itself
		"REDIS_HOST":                         false, // nobody's
		"LOG_FORMAT":                         false, // only RPS_LOG__FORMAT
		"OTEL_EXPORTER_OTLP_ENDPOINT":        true,  // OpenTelemetry's, tracing.endpoint
		"OTEL_SERVICE_NAME":                  true,  // OpenTelemetry's, tracing.service_name
		"RPS_TRACING__SAMPLE_RATIO":          true,  // a key's
		"RPS_TASK__REPLY_TIMEOUT":            true,  // a key's
		"RPS_KAFKA__REPLY_TIMEOUT":           true,  // an alias's
		"KAFKA_GIFT_CODE_TIMEOUT":            true,  // the original's
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": false, // not configs'
	} {
		if got := ReadsVariable(name); got != want {
			t.Errorf("ReadsVariable(%q) = %v, want %v", name, got, want)
		}
	}
}
