package check

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// Grafana's own variables, replaced before a query reaches Prometheus; a
// fixed duration stands in for them so the parser sees valid PromQL.
var grafanaVars = strings.NewReplacer("$__rate_interval", "1m", "$__interval", "1m", "$__range", "1h")

// variableRef is a dashboard variable in a query: $name, ${name},
// ${name:format} or [[name]]. Grafana's own ($__name) are not among them.
var variableRef = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)(?::[^}]*)?\}|\$([A-Za-z0-9_]+)|\[\[([A-Za-z0-9_]+)\]\]`)

// StandIn is what ExpandVariables puts for the variable name: a plain word,
// valid PromQL inside a label matcher's quotes, which a check can look for.
func StandIn(name string) string { return "__var_" + name + "__" }

// ExpandVariables replaces the dashboard's variables (names) in expr by
// their stand-ins, so the PromQL parser can read it; a variable the
// dashboard does not define is an error, as Grafana would leave it in the
// query.
func ExpandVariables(expr string, names []string) (string, error) {
	var undefined []string
	out := variableRef.ReplaceAllStringFunc(expr, func(ref string) string {
		m := variableRef.FindStringSubmatch(ref)
		name := m[1] + m[2] + m[3]
		if strings.HasPrefix(name, "__") {
			return ref // Grafana's own: grafanaVars
		}
		if !slices.Contains(names, name) {
			undefined = append(undefined, ref)
			return ref
		}
		return StandIn(name)
	})
	if len(undefined) > 0 {
		return "", fmt.Errorf("undefined variables %v in %s", undefined, expr)
	}
	return out, nil
}

// SelectorsWithout lists the selectors of expr (variables expanded) that do
// not match label against value with =~ or =.
func SelectorsWithout(expr, label, value string) ([]string, error) {
	parsed, err := parser.NewParser(parser.Options{}).ParseExpr(grafanaVars.Replace(expr))
	if err != nil {
		return nil, err
	}
	var without []string
	parser.Inspect(parsed, func(node parser.Node, _ []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		for _, m := range vs.LabelMatchers {
			if m.Name == label && m.Value == value && (m.Type == labels.MatchRegexp || m.Type == labels.MatchEqual) {
				return nil
			}
		}
		without = append(without, vs.String())
		return nil
	})
	return without, nil
}

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
