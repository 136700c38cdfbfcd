// Package kafkabroker carries tasks and their results over Apache Kafka with
// confluent-kafka-go: a Requester (ports.TaskBroker) on the server side and a
// Worker that feeds a ports.TaskProcessor on the worker side.
//
// # Reply routing
//
// The original made every server instance read every reply, so read traffic
// grew with the number of instances. Here each Requester owns a reply topic of
// its own, "<results topic>.<instance id>" with one partition, created at start
// and deleted on Close; every task names it in its reply_to header and the
// worker replies there. A Requester reads it by Assign (no consumer group, no
// rebalance wait) from the beginning of the fresh topic, so no reply can be
// lost between start and the first fetch, and it is Ready only after a probe
// message it produced has come back through it.
//
// Failure modes: an instance that crashes leaves its reply topic behind with
// no reader; replies to its abandoned requests land there and expire with the
// topic's retention (1 h), and a restarted instance takes a new id and topic.
// Orphan topics are harmless but accumulate after many crashes; delete topics
// matching "<results topic>.*" that have no consumer when tidying a cluster.
//
// # Delivery
//
// The worker commits a task's offset only after its reply was delivered
// (at-least-once): offsets are stored for the contiguous prefix of finished
// tasks per partition and committed by librdkafka's auto-commit, so a crash
// redelivers what was not answered, never skips it.
package kafkabroker
