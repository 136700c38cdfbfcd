// Package kafkacluster holds the fault scenarios of a three-broker Kafka
// (KRaft, replication factor 3, min.insync.replicas=2) under open-loop
// load: a broker killed (the one leading tasks partitions, the one leading
// a server's reply topic, the active controller) while a server and a
// worker, real processes, answer POST /queue against one Redis. It runs in
// go tool task test:cluster (docs/running-at-scale.md has the figures).
package kafkacluster
