package check

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

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
	// Expr is the query with the dashboard's variables replaced by their
	// stand-ins (StandIn), so that it parses; Raw is as written.
	Expr, Raw string
	// Datasource is the uid the target names ("" for none).
	Datasource string
}

// Panel is one panel as the checks see it, rows' nested panels included.
type Panel struct {
	Title      string
	Datasource string // the uid the panel names ("" for none)
	Queries    []Query
}

// Variable is one template variable of a dashboard.
type Variable struct {
	Name       string
	Type       string
	Query      string // a query variable's query, a datasource variable's plugin type
	Datasource string // the uid a query variable reads from
	Current    string // the selected value, lists joined by "|"
}

// Dashboard is what the checks read of a dashboard JSON.
type Dashboard struct {
	Variables []Variable
	Panels    []Panel
}

type dsRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

func (r *dsRef) uid() string {
	if r == nil {
		return ""
	}
	return r.UID
}

// ReadDashboard reads a dashboard JSON's variables and panels; every
// target's Expr has the variables replaced (an undefined one is an error).
func ReadDashboard(path string) (Dashboard, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Dashboard{}, err
	}
	type panel struct {
		Title      string `json:"title"`
		Datasource *dsRef `json:"datasource"`
		Targets    []struct {
			Expr       string `json:"expr"`
			Datasource *dsRef `json:"datasource"`
		} `json:"targets"`
		Panels []panel `json:"panels"`
	}
	var d struct {
		Templating struct {
			List []struct {
				Name       string          `json:"name"`
				Type       string          `json:"type"`
				Query      json.RawMessage `json:"query"`
				Datasource *dsRef          `json:"datasource"`
				Current    struct {
					Value json.RawMessage `json:"value"`
				} `json:"current"`
			} `json:"list"`
		} `json:"templating"`
		Panels []panel `json:"panels"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return Dashboard{}, fmt.Errorf("%s: %w", path, err)
	}
	var out Dashboard
	var names []string
	for _, v := range d.Templating.List {
		out.Variables = append(out.Variables, Variable{
			Name: v.Name, Type: v.Type, Query: stringOrList(v.Query), Datasource: v.Datasource.uid(), Current: stringOrList(v.Current.Value),
		})
		names = append(names, v.Name)
	}
	var walk func([]panel) error
	walk = func(ps []panel) error {
		for _, p := range ps {
			pn := Panel{Title: p.Title, Datasource: p.Datasource.uid()}
			for _, t := range p.Targets {
				expr, err := ExpandVariables(t.Expr, names)
				if err != nil {
					return fmt.Errorf("%s: panel %q: %w", path, p.Title, err)
				}
				pn.Queries = append(pn.Queries, Query{Panel: p.Title, Expr: expr, Raw: t.Expr, Datasource: t.Datasource.uid()})
			}
			out.Panels = append(out.Panels, pn)
			if err := walk(p.Panels); err != nil {
				return err
			}
		}
		return nil
	}
	return out, walk(d.Panels)
}

// DashboardQueries reads every target's expression in a dashboard JSON,
// rows' nested panels included, with the dashboard's variables replaced.
func DashboardQueries(path string) ([]Query, error) {
	d, err := ReadDashboard(path)
	if err != nil {
		return nil, err
	}
	var out []Query
	for _, p := range d.Panels {
		out = append(out, p.Queries...)
	}
	return out, nil
}

// stringOrList reads a JSON string, or a list of strings joined by "|";
// anything else (a query given as an object) is "".
func stringOrList(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return strings.Join(list, "|")
	}
	return ""
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
