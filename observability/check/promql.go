package check

import (
	"fmt"
	"strings"

	"github.com/prometheus/prometheus/promql/parser"
)

// Grafana's own variables, replaced before a query reaches Prometheus; a
// fixed duration stands in for them so the parser sees valid PromQL.
var grafanaVars = strings.NewReplacer("$__rate_interval", "1m", "$__interval", "1m", "$__range", "1h")

// MetricNames parses expr (with Grafana's variables replaced) and returns
// the metric names its selectors name. A selector without a name (only
// label matchers) is an error: nothing could check it.
func MetricNames(expr string) ([]string, error) {
	parsed, err := parser.NewParser(parser.Options{}).ParseExpr(grafanaVars.Replace(expr))
	if err != nil {
		return nil, err
	}
	var names []string
	var bad error
	parser.Inspect(parsed, func(node parser.Node, _ []parser.Node) error {
		if vs, ok := node.(*parser.VectorSelector); ok {
			if vs.Name == "" {
				bad = fmt.Errorf("selector %s names no metric", vs)
			}
			names = append(names, vs.Name)
		}
		return nil
	})
	return names, bad
}

// ExportedName maps a name a query uses to the family a /metrics page
// lists: histogram series carry _bucket, _sum or _count suffixes.
func ExportedName(name string, families map[string]bool) bool {
	if families[name] {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && families[base] {
			return true
		}
	}
	return false
}
