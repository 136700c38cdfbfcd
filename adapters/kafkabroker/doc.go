// Package kafkabroker carries tasks and their results over Apache Kafka with
// confluent-kafka-go: a Requester (ports.TaskBroker) on the server side and a
// Worker that feeds a ports.TaskProcessor on the worker side.
//
//	r, err := kafkabroker.NewRequester(kafkabroker.RequesterConfig{Bootstrap: b, Logger: log, Registerer: reg})
//	defer r.Close(ctx)                    // after the HTTP server drained
//	res, err := r.Request(ctx, task)      // r.Ready(ctx) backs /readyz
//
//	w, err := kafkabroker.NewWorker(ctx, kafkabroker.WorkerConfig{Bootstrap: b, Logger: log, Registerer: reg}, proc)
//	err = w.Run(ctx)                      // until ctx is cancelled, then drains and closes
//
// # Wire format
//
// A task is the JSON {"action","correlation_id","request_id"} (the original's
// field names) keyed by the correlation id, with headers correlation_id,
// request_id and reply_to. A reply is {"correlation_id","result"} or
// {"correlation_id","error"} with a correlation_id header. Both are decoded
// strictly (unknown fields, trailing data, a header that contradicts the
// body, a missing or invalid reply_to): such a message is poison.
//
// # Reply routing
//
// The original made every server instance read every reply, so read traffic
// grew with the number of instances. Here each Requester owns a reply topic of
// its own, "<ResultsTopic>.<InstanceID>" with one partition and 1 h retention,
// created at start and deleted on Close; every task names it in its reply_to
// header and the worker replies there. A Requester reads it by Assign (no
// consumer group, no rebalance wait) from offset 0 of the fresh topic, so no
// reply can be lost between start and the first fetch, and it is Ready only
// after a probe it produced has come back through it (~0.1 s after start).
// A per-instance topic rather than a claimed partition of a shared topic
// needs no lease or fencing: ownership is the topic's name, unique per
// process.
//
// Failure modes:
//   - An instance that crashes leaves its reply topic behind with no reader;
//     replies to its abandoned requests land there and expire with the
//     retention. A restarted instance takes a new id and topic. Orphan topics
//     are harmless but accumulate after many crashes: delete
//     "<ResultsTopic>.*" topics without a reader when tidying a cluster.
//   - An instance that shuts down cleanly deletes its topic; a worker still
//     holding one of its tasks finds the topic gone (within 2 s), drops that
//     reply (rps_worker_orphan_replies_total) and moves on. Brokers that
//     auto-create topics do not bring it back: the producers disable it.
//   - Kafka unreachable: NewRequester returns at once and connects in the
//     background; until the probe comes back Ready fails and Request returns
//     domain.ErrUnavailable at once. Once Kafka reports all brokers down, the
//     same holds until a new probe comes back (tried every second, with or
//     without traffic); a task already sent but never delivered fails after
//     ~2 x message.timeout.ms, or at its deadline (domain.ErrTimedOut).
//   - A topic per instance costs one partition per server instance on the
//     cluster: fine for tens of instances, not for thousands.
//
// # Delivery
//
// The worker commits a task's offset only after its reply was delivered
// (at-least-once). It stores offsets itself (enable.auto.offset.store=false)
// for the contiguous prefix of answered tasks per partition, and librdkafka's
// auto-commit sends the stored offsets every 200 ms, on revoke and on close;
// so the committed offset never passes an unanswered task, and a crash
// redelivers what was not answered instead of skipping it. A reply whose
// delivery fails is produced again (the task is not rerun) until it is
// delivered or the drain deadline passes. On a revoke the worker forgets the
// partitions (tasks of theirs still running may run again elsewhere) and
// commits what is answered; lost partitions (session expired) are not
// committed. A handler's error becomes an error reply; poison tasks are
// logged, counted and skipped, and their offsets count as done.
//
// # Settings
//
// Client settings are tuned for request-reply latency at high throughput
// (settings.go explains each with the measured effect). Config.Settings
// overrides any librdkafka property; a key prefixed "producer." or
// "consumer." reaches only that kind of client.
package kafkabroker
