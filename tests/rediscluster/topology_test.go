package rediscluster_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/tests/infra"
)

// The topology the scenarios run on: the script's cluster serves every
// slot, a killed master's replica takes over within a few node timeouts,
// and the old master comes back as a replica of the new one.
func TestClusterTopology(t *testing.T) {
	c := infra.StartRedisCluster(t, infra.WithNodeTimeout(nodeTimeout))
	raw := clusterClient(t, c)
	for _, n := range raw.Nodes() {
		require.NoError(t, n.Do(t.Context(), n.B().Ping().Build()).Error(), "every node answers")
	}
	old := c.MasterOf("{probe}")
	require.NotEmpty(t, old)
	killedAt := time.Now()
	c.Kill(old)
	promoted, at := c.WaitPromoted("{probe}", old, 20*time.Second)
	t.Logf("replica %s promoted %s after the kill of %s", promoted, at.Sub(killedAt).Round(time.Millisecond), old)
	assert.Less(t, at.Sub(killedAt), 6*nodeTimeout, "promotion within a few node timeouts")
	c.Restart(old)
	assert.Equal(t, promoted, c.MasterOf("{probe}"), "the old master rejoins as a replica")
}
