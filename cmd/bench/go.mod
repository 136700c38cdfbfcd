// The bench's own module: the load generator's dependencies (HDR histograms,
// go-echarts for its HTML report) stay out of the service's module graph, and
// it imports nothing of the service. Build and test it from here, or from the
// repository root with go -C cmd/bench (as the Taskfile does).
module github.com/1000x-rps-server/rps-server/cmd/bench

go 1.26.8

require (
	github.com/HdrHistogram/hdrhistogram-go v1.4.0
	github.com/go-echarts/go-echarts/v2 v2.6.7
	github.com/stretchr/testify v1.12.1
	go.uber.org/goleak v1.3.0
	golang.org/x/term v0.48.0
	golang.org/x/text v0.43.0
)

require (
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/sys v0.50.0 // indirect
)
