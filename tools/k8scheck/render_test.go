package k8scheck_test

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/tools/k8scheck"
)

// root is the repository's root, seen from this package.
const root = "../.."

// rendered renders every overlay once per test binary: kustomize takes a
// while, and every test reads the same objects.
var rendered = sync.OnceValues(func() ([]k8scheck.Objects, error) {
	dirs, err := k8scheck.Overlays(root)
	if err != nil {
		return nil, err
	}
	var all []k8scheck.Objects
	for _, dir := range dirs {
		objs, err := k8scheck.Render(dir)
		if err != nil {
			return nil, err
		}
		o, err := k8scheck.Sort(filepath.Base(dir), objs)
		if err != nil {
			return nil, err
		}
		all = append(all, o)
	}
	return all, nil
})

// overlays renders every overlay (strictly decoded) or fails the test.
func overlays(t *testing.T) []k8scheck.Objects {
	t.Helper()
	all, err := rendered()
	require.NoError(t, err)
	return all
}

// forEachOverlay runs check on every overlay as a subtest of its name.
func forEachOverlay(t *testing.T, check func(t *testing.T, o k8scheck.Objects)) {
	t.Helper()
	for _, o := range overlays(t) {
		t.Run(o.Overlay, func(t *testing.T) { check(t, o) })
	}
}
