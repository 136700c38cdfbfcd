package kafkatrace

import "github.com/confluentinc/confluent-kafka-go/v2/kafka"

// HeaderCarrier lets an OpenTelemetry propagator read and write a message's
// headers (it is a propagation.TextMapCarrier), so a trace crosses Kafka in
// both directions: task and reply. confluent-kafka-go has no maintained
// instrumentation; this is the norm its users follow.
type HeaderCarrier []kafka.Header

// Carrier is the carrier over m's headers; Set changes m.
func Carrier(m *kafka.Message) *HeaderCarrier { return (*HeaderCarrier)(&m.Headers) }

// Get returns the value of the first header named key, or "".
func (c *HeaderCarrier) Get(key string) string {
	for _, h := range *c {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// Set replaces the headers named key with one holding value.
func (c *HeaderCarrier) Set(key, value string) {
	kept := (*c)[:0]
	for _, h := range *c {
		if h.Key != key {
			kept = append(kept, h)
		}
	}
	kept = append(kept, kafka.Header{Key: key, Value: []byte(value)})
	*c = kept
}

// Keys lists the header names, in order.
func (c *HeaderCarrier) Keys() []string {
	keys := make([]string, 0, len(*c))
	for _, h := range *c {
		keys = append(keys, h.Key)
	}
	return keys
}
