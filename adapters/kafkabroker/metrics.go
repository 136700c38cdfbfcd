package kafkabroker

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// RoundTripBuckets span a loopback round trip (~1 ms) to the reply timeout.
var RoundTripBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Register registers every collector, or says which failed.
func Register(reg prometheus.Registerer, cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("kafkabroker: register metrics: %w", err)
		}
	}
	return nil
}
