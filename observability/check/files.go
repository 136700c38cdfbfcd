package check

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"
)

// Paths of the files under test, relative to this package.
const (
	PrometheusDir     = "../prometheus"
	ScrapeConfig      = PrometheusDir + "/prometheus.yml"
	LocalScrapeConfig = PrometheusDir + "/prometheus.local.yml"
	AlertTests        = PrometheusDir + "/tests/alerts_test.yml"
	DashboardsDir     = "../grafana/dashboards"
	ProvisioningDir   = "../grafana/provisioning"
)

// RuleFiles are the rule files the scrape config loads, in its order.
func RuleFiles() ([]string, error) {
	var cfg struct {
		RuleFiles []string `yaml:"rule_files"`
	}
	if err := readYAML(ScrapeConfig, &cfg); err != nil {
		return nil, err
	}
	out := make([]string, len(cfg.RuleFiles))
	for i, f := range cfg.RuleFiles {
		out[i] = filepath.Join(PrometheusDir, f)
	}
	return out, nil
}

// Rule is one recording or alerting rule, as written.
type Rule struct {
	Record string `yaml:"record"`
	Alert  string `yaml:"alert"`
	Expr   string `yaml:"expr"`
}

// Name is the rule's recorded series or alert name.
func (r Rule) Name() string { return r.Record + r.Alert }

// Rules reads every rule of every rule file.
func Rules() ([]Rule, error) {
	files, err := RuleFiles()
	if err != nil {
		return nil, err
	}
	var all []Rule
	for _, f := range files {
		var doc struct {
			Groups []struct {
				Rules []Rule `yaml:"rules"`
			} `yaml:"groups"`
		}
		if err := readYAML(f, &doc); err != nil {
			return nil, err
		}
		for _, g := range doc.Groups {
			all = append(all, g.Rules...)
		}
	}
	return all, nil
}

// Dashboards lists the dashboard JSON files.
func Dashboards() ([]string, error) {
	return filepath.Glob(filepath.Join(DashboardsDir, "*.json"))
}

// Query is one panel target's PromQL, with where it comes from.
type Query struct {
	Panel string
	Expr  string
}

// DashboardQueries reads every target's expression in a dashboard JSON,
// rows' nested panels included.
func DashboardQueries(path string) ([]Query, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	type panel struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
		Panels []panel `json:"panels"`
	}
	var d struct {
		Panels []panel `json:"panels"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out []Query
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, t := range p.Targets {
				out = append(out, Query{Panel: p.Title, Expr: t.Expr})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out, nil
}

func readYAML(path string, v any) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := yaml.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
