package k8scheck_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/tools/k8scheck"
)

func TestParseImage(t *testing.T) {
	for ref, want := range map[string]k8scheck.ImageRef{
		"rps-server":     {Repository: "rps-server"},
		"rps-server:dev": {Repository: "rps-server", Tag: "dev"},
		"registry.example.com:5000/rps/rps-server": {Repository: "registry.example.com:5000/rps/rps-server"},
		"registry.example.com:5000/rps-server:v1":  {Repository: "registry.example.com:5000/rps-server", Tag: "v1"},
		"rps-server@sha256:abc":                    {Repository: "rps-server", Digest: "sha256:abc"},
	} {
		got := k8scheck.ParseImage(ref)
		assert.Equal(t, want, got, ref)
		assert.Equal(t, "rps-server", got.Name(), ref)
		assert.Equal(t, want.Tag != "" || want.Digest != "", got.Pinned(), ref)
	}
	assert.False(t, k8scheck.ParseImage("rps-server:latest").Pinned())
}

// The route tables are found where the binaries keep them, and hold what
// the binaries serve today.
func TestRoutes_ReadTheRouteTables(t *testing.T) {
	server, err := k8scheck.Routes(root, k8scheck.ServerRoutes)
	require.NoError(t, err)
	assert.Subset(t, server, []string{"/", "/queue", "/healthz", "/readyz", "/metrics", "/openapi.yaml"})
	admin, err := k8scheck.Routes(root, k8scheck.ServerAdminRoutes)
	require.NoError(t, err)
	assert.Equal(t, []string{"/metrics"}, admin)
	worker, err := k8scheck.Routes(root, k8scheck.WorkerRoutes)
	require.NoError(t, err)
	assert.Equal(t, []string{"/healthz", "/metrics", "/readyz"}, worker)
	_, err = k8scheck.Routes(root, "domain")
	assert.Error(t, err, "a package with no route table is an error, not an empty list")
}

// The facts read from the build files are the ones they state.
func TestBuildFacts(t *testing.T) {
	name, err := k8scheck.ImageName(root)
	require.NoError(t, err)
	assert.Equal(t, "rps-server", name)
	bins, err := k8scheck.ImageBinaries(root)
	require.NoError(t, err)
	assert.Equal(t, []string{"server", "worker"}, bins)
	uid, err := k8scheck.ImageUser(root)
	require.NoError(t, err)
	assert.Equal(t, int64(65532), uid)
	leave, err := k8scheck.GroupLeaveBound(root)
	require.NoError(t, err)
	assert.Positive(t, leave)
}
