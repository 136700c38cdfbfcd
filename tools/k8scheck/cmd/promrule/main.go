// Command promrule writes the PrometheusRule of the monitoring component
// from observability/prometheus's rule files (go tool task k8s:rules).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/1000x-rps-server/rps-server/tools/k8scheck"
)

func main() {
	root := flag.String("root", "../..", "the repository's root")
	flag.Parse()
	if err := run(*root); err != nil {
		fmt.Fprintln(os.Stderr, "promrule:", err)
		os.Exit(1)
	}
}

func run(root string) error {
	groups, err := k8scheck.RuleGroups(root)
	if err != nil {
		return err
	}
	out, err := k8scheck.PrometheusRule(groups)
	if err != nil {
		return err
	}
	path := filepath.Join(root, k8scheck.PrometheusRuleFile)
	if err := os.WriteFile(path, out, 0o644); err != nil { //nolint:gosec // a file of the repository, read by all
		return err
	}
	fmt.Println("wrote", path)
	return nil
}
