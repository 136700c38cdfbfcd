package redisclient_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/tests/infra"
)

// With a master set, the URL names a sentinel, which names the master: the
// client writes to the master it was told of.
func TestSentinel_TheURLNamesASentinelWhichNamesTheMaster(t *testing.T) {
	master := infra.StartRedis(t)
	sentinel := infra.StartRedis(t, infra.WithSentinel(master, "rps-master"))
	cfg := config(sentinel.URL())
	cfg.Sentinel.MasterSet = "rps-master"
	roundTrip(t, open(t, cfg))

	direct := infra.RedisClient(t, master.URL())
	v, err := direct.Do(context.Background(), direct.B().Get().Key("k").Build()).ToString()
	require.NoError(t, err)
	assert.Equal(t, "v", v, "written on the master")

	cfg.Sentinel.MasterSet = "no-such-master"
	err = newFails(t, cfg)
	assert.ErrorContains(t, err, "redis client: connect to sentinels "+sentinel.Addr()+" (master set no-such-master)")
}

// Cluster seeds beside the URL's host: the client learns the cluster from
// whichever answers, here the seed, as the URL's host is down.
func TestCluster_SeedsBesideTheURLsHost(t *testing.T) {
	node := infra.StartRedis(t, infra.WithCluster())
	cfg := config("redis://" + infra.FreeAddr(t))
	cfg.ClusterAddrs = []string{node.Addr()}
	c := open(t, cfg)
	roundTrip(t, c)
	seed, ok := c.Nodes()[node.Addr()]
	require.True(t, ok, "the client knows the live seed")
	mode, err := seed.Do(context.Background(), seed.B().ClusterInfo().Build()).ToString()
	require.NoError(t, err)
	assert.Contains(t, mode, "cluster_state:ok")
}
