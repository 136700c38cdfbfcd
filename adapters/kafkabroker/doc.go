// Package kafkabroker is what both sides of the Kafka task broker share: the
// librdkafka client settings (settings.go, the one place they are set) and
// the rules on what they are made from (rules.go: Validate, which start-up
// runs on the config), the wire format (codec.go), client log forwarding,
// the errors that mean Kafka turned a client away for its settings
// (access.go) and metric helpers. Topic rules and admin calls are package topics, the spans
// package kafkatrace. The server side is package requester (a
// ports.TaskBroker), the worker side package taskworker; docs/architecture.md
// explains reply routing, delivery guarantees and failure modes.
package kafkabroker
