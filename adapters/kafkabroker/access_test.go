package kafkabroker_test

import (
	"errors"
	"testing"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker"
)

// librdkafka's reports of a wrong password and of an untrusted broker
// certificate, as it gives them (seen against a SASL_SSL listener).
const (
	wrongPassword = "sasl_ssl://127.0.0.1:24594/bootstrap: SASL authentication error: Authentication failed during " +
		"authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512 (after 489ms in state AUTH_REQ)"
	untrustedCert = "sasl_ssl://127.0.0.1:24594/bootstrap: SSL handshake failed: error:0A000086:SSL routines::certificate " +
		"verify failed: broker certificate could not be verified, verify that ssl.ca.location is correctly configured " +
		"or root CA certificates are installed (install ca-certificates package) (after 35ms in state SSL_HANDSHAKE)"
)

// A failed login or TLS handshake is named, with the settings to check and
// librdkafka's own words; a broker out of reach is not an access error.
func TestAccessDenied(t *testing.T) {
	tests := []struct {
		name string
		err  kafka.Error
		user string
		want []string // in the message; none: not an access error
	}{
		{"wrong_password", kafka.NewError(kafka.ErrAuthentication, wrongPassword, false), "rps",
			[]string{`kafka SASL authentication failed as user "rps"`, "sasl.username and sasl.password", wrongPassword}},
		{"broker_refused_login", kafka.NewError(kafka.ErrSaslAuthenticationFailed, "Broker: SASL Authentication failed", false), "",
			[]string{"kafka SASL authentication failed (check", "sasl.password"}},
		{"untrusted_certificate", kafka.NewError(kafka.ErrSsl, untrustedCert, false), "rps",
			[]string{"kafka TLS handshake failed: the broker's certificate could not be verified", "check kafka.settings ssl.ca.location", untrustedCert}},
		{"other_tls_failure", kafka.NewError(kafka.ErrSsl, "SSL handshake failed: no shared cipher", false), "",
			[]string{"kafka TLS handshake failed (check kafka.settings security.protocol and ssl.*)"}},
		{"broker_down", kafka.NewError(kafka.ErrTransport, "Connection refused", false), "rps", nil},
		{"all_brokers_down", kafka.NewError(kafka.ErrAllBrokersDown, "1/1 brokers are down", false), "rps", nil},
		{"plaintext_listener", kafka.NewError(kafka.ErrTransport,
			"SSL handshake failed: Disconnected: SSL connection closed by peer: connecting to a PLAINTEXT broker listener?", false), "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := kafkabroker.AccessDenied(tt.err, tt.user)
			if tt.want == nil {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			var access *kafkabroker.AccessError
			require.ErrorAs(t, err, &access)
			var kerr kafka.Error
			require.True(t, errors.As(err, &kerr), "librdkafka's error stays reachable")
			assert.Equal(t, tt.err.Code(), kerr.Code())
		})
	}
}

func TestSASLUser(t *testing.T) {
	assert.Equal(t, "rps", kafkabroker.SASLUser(&kafka.ConfigMap{"sasl.username": "rps"}))
	assert.Empty(t, kafkabroker.SASLUser(&kafka.ConfigMap{"bootstrap.servers": "b:1"}))
}
