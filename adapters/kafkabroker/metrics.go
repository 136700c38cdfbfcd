package kafkabroker

// RoundTripBuckets span a loopback round trip (~1 ms) to the reply timeout.
var RoundTripBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
