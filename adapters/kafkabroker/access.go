package kafkabroker

import (
	"fmt"
	"strings"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// AccessError is Kafka turning a client away for its own settings: a failed
// SASL login or TLS handshake. librdkafka reports it as an error event and
// retries for ever, each retry failing the same way, so a client that meets
// it before it ever reached the cluster has wrong settings, and its process
// should stop with this error (which names the settings to check) rather
// than answer 503 for ever. Once the cluster was reached it is an outage
// like any other (a password rotated under a running fleet).
type AccessError struct {
	// What failed, in a few words.
	What string
	// Check names the kafka.settings keys to look at.
	Check string
	// Err is librdkafka's own report, with the broker's address.
	Err kafka.Error
}

func (e *AccessError) Error() string {
	return fmt.Sprintf("kafka %s (check kafka.settings %s): %s", e.What, e.Check, e.Err)
}

func (e *AccessError) Unwrap() error { return e.Err }

// AccessDenied returns the AccessError that e is, or nil when e is not about
// the client's credentials or TLS (a broker out of reach, a refused
// request). user is the client's sasl.username, named in the error.
func AccessDenied(e kafka.Error, user string) error {
	switch e.Code() {
	case kafka.ErrAuthentication, kafka.ErrSaslAuthenticationFailed:
		what := "SASL authentication failed"
		if user != "" {
			what += fmt.Sprintf(" as user %q", user)
		}
		return &AccessError{What: what, Check: "sasl.mechanisms, sasl.username and sasl.password", Err: e}
	case kafka.ErrSsl:
		// librdkafka's text for a chain that none of its CAs signed, or a
		// certificate whose names do not match the broker's address.
		if strings.Contains(e.Error(), "certificate verify failed") {
			return &AccessError{What: "TLS handshake failed: the broker's certificate could not be verified " +
				"(signed by a CA not trusted, or not naming the bootstrap host)", Check: "ssl.ca.location", Err: e}
		}
		return &AccessError{What: "TLS handshake failed", Check: "security.protocol and ssl.*", Err: e}
	}
	return nil
}

// SASLUser is the sasl.username a client's settings log in with, empty
// without SASL.
func SASLUser(conf *kafka.ConfigMap) string {
	if v, err := conf.Get("sasl.username", ""); err == nil {
		if s, ok := v.(string); ok {
			return s
		}
	}
	return ""
}
