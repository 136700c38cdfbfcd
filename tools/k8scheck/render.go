package k8scheck

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// KubernetesDir holds the base, the components and the overlays, relative
// to the repository's root.
const KubernetesDir = "deployments/kubernetes"

// Overlays lists the overlays' directories under root, sorted.
func Overlays(root string) ([]string, error) {
	dir := filepath.Join(root, KubernetesDir, "overlays")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no overlays in %s", dir)
	}
	return slices.Sorted(slices.Values(out)), nil
}

// Render builds the kustomization in dir with kustomize's defaults (the
// ones kubectl uses: files outside the kustomization's root are refused)
// and decodes every object strictly.
func Render(dir string) ([]runtime.Object, error) {
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize %s: %w", dir, err)
	}
	dec, err := NewDecoder()
	if err != nil {
		return nil, err
	}
	out := make([]runtime.Object, 0, m.Size())
	for _, r := range m.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", dir, r.CurId(), err)
		}
		obj, err := dec.Decode(y)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", dir, r.CurId(), err)
		}
		out = append(out, obj)
	}
	return out, nil
}
