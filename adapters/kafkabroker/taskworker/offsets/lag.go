package offsets

import (
	"strconv"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/prometheus/client_golang/prometheus"
)

// committedTimeout bounds the one request to the group coordinator a scrape
// may make, for partitions this worker has read nothing from yet.
const committedTimeout = time.Second

// Lag is, per assigned partition, the tasks not yet answered: its high
// watermark minus where answering stands. That is the oldest offset still
// being processed; with none, the read position (tasks fetched but not yet
// handed out count too); with no read yet, the group's committed offset, or
// the partition's start when the group never committed (offsets reset to
// earliest). Partitions whose figures the client does not know are left out.
func Lag(consumer *kafka.Consumer, topic string, t *Tracker) map[int32]int64 {
	assigned, err := consumer.Assignment()
	if err != nil {
		return nil
	}
	positions, err := consumer.Position(assigned)
	if err != nil {
		return nil
	}
	base := make(map[int32]int64, len(positions))
	var unread []kafka.TopicPartition
	for _, tp := range positions {
		if oldest, ok := t.Oldest(tp.Partition); ok {
			base[tp.Partition] = oldest
		} else if tp.Offset >= 0 {
			base[tp.Partition] = int64(tp.Offset)
		} else {
			unread = append(unread, tp)
		}
	}
	if len(unread) > 0 {
		if committed, err := consumer.Committed(unread, int(committedTimeout.Milliseconds())); err == nil {
			for _, tp := range committed {
				if tp.Offset >= 0 {
					base[tp.Partition] = int64(tp.Offset)
				} else if low, _, err := consumer.GetWatermarkOffsets(topic, tp.Partition); err == nil && low >= 0 {
					base[tp.Partition] = low
				}
			}
		}
	}
	out := make(map[int32]int64, len(base))
	for partition, from := range base {
		_, high, err := consumer.GetWatermarkOffsets(topic, partition)
		if err != nil || high < 0 {
			continue
		}
		out[partition] = max(0, high-from)
	}
	return out
}

// lagDesc describes rps_worker_consumer_lag, computed at scrape time.
var lagDesc = prometheus.NewDesc("rps_worker_consumer_lag",
	"Tasks in an assigned partition not yet answered: the partition's high watermark minus the offset stored for commit (or the read position before any).",
	[]string{"topic", "partition"}, nil)

// LagCollector reports the consumer lag of each partition assigned to the
// runner, from the client's cached high watermarks: a scrape costs no
// request to Kafka.
type LagCollector struct {
	Topic string
	Lag   func() map[int32]int64 // Lag's figures, nil once closed
}

// Describe implements prometheus.Collector.
func (c LagCollector) Describe(ch chan<- *prometheus.Desc) { ch <- lagDesc }

// Collect implements prometheus.Collector.
func (c LagCollector) Collect(ch chan<- prometheus.Metric) {
	for partition, lag := range c.Lag() {
		ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, float64(lag),
			c.Topic, strconv.Itoa(int(partition)))
	}
}
