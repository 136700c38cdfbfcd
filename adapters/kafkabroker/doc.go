// Package kafkabroker is what both sides of the Kafka task broker share: the
// librdkafka client settings (settings.go, the one place they are set), the
// wire format (codec.go), client log forwarding and metric helpers. Topic
// rules and admin calls are package topics, the spans package kafkatrace.
// The server side is package requester (a ports.TaskBroker), the worker side
// package worker; README.md ("Kafka") explains reply routing, delivery
// guarantees and failure modes.
package kafkabroker
