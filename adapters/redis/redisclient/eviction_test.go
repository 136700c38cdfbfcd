package redisclient_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/adapters/redis/redisclient"
	"github.com/1000x-rps-server/rps-server/tests/infra"
)

func TestCheckEviction(t *testing.T) {
	t.Run("noeviction_passes", func(t *testing.T) {
		r := infra.StartRedis(t, infra.WithArgs("--maxmemory", "100mb", "--maxmemory-policy", "noeviction"))
		require.NoError(t, redisclient.CheckEviction(context.Background(), open(t, config(r.URL()))))
	})
	for _, policy := range []string{"volatile-lru", "allkeys-lru", "volatile-ttl"} {
		t.Run(policy+"_is_refused", func(t *testing.T) {
			r := infra.StartRedis(t, infra.WithArgs("--maxmemory", "100mb", "--maxmemory-policy", policy))
			err := redisclient.CheckEviction(context.Background(), open(t, config(r.URL())))
			var evicting *redisclient.EvictionError
			require.ErrorAs(t, err, &evicting)
			assert.Equal(t, policy, evicting.Policy)
			assert.Equal(t, r.Addr(), evicting.Node)
			assert.Contains(t, err.Error(), "set maxmemory-policy to noeviction")
		})
	}
	t.Run("a_cluster_node_that_may_evict_is_found_whatever_else_answers", func(t *testing.T) {
		node := infra.StartRedis(t, infra.WithCluster(), infra.WithArgs("--maxmemory-policy", "allkeys-lru"))
		cfg := config("redis://" + infra.FreeAddr(t)) // a seed that is down
		cfg.ClusterAddrs = []string{node.Addr()}
		var evicting *redisclient.EvictionError
		require.ErrorAs(t, redisclient.CheckEviction(context.Background(), open(t, cfg)), &evicting)
		assert.Equal(t, "allkeys-lru", evicting.Policy)
	})
	t.Run("config_renamed_away_is_hidden", func(t *testing.T) {
		r := infra.StartRedis(t, infra.WithArgs("--rename-command", "CONFIG", ""))
		err := redisclient.CheckEviction(context.Background(), open(t, config(r.URL())))
		require.ErrorIs(t, err, redisclient.ErrConfigHidden)
		assert.Contains(t, err.Error(), r.Addr())
	})
	t.Run("config_denied_by_acl_is_hidden", func(t *testing.T) {
		r := infra.StartRedis(t, infra.WithACLUser(user, password), infra.WithArgs("--maxmemory-policy", "volatile-lru"))
		asUser := func(name, pw string) redisclient.Config {
			cfg := config(r.URL())
			cfg.Username, cfg.Password = name, pw
			return cfg
		}
		admin, ctx := open(t, asUser(user, password)), context.Background()
		require.NoError(t, admin.Do(ctx, admin.B().AclSetuser().Username("app").Rule("on", ">app-pw", "~*", "+@all", "-config").Build()).Error())
		app := open(t, asUser("app", "app-pw"))
		require.ErrorIs(t, redisclient.CheckEviction(ctx, app), redisclient.ErrConfigHidden)
	})
}
