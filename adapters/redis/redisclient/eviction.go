package redisclient

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/redis/rueidis"
)

// ErrConfigHidden means a Redis node refused CONFIG GET, as managed Redis
// services often do (the command renamed, disabled or denied by ACL), so its
// eviction policy cannot be checked from here.
var ErrConfigHidden = errors.New("redis client: CONFIG GET is refused, so maxmemory-policy cannot be checked")

// EvictionError is a Redis node whose maxmemory-policy lets it evict keys.
type EvictionError struct {
	Node   string // host:port
	Policy string
}

func (e *EvictionError) Error() string {
	return fmt.Sprintf("redis client: maxmemory-policy is %s on %s, so Redis may evict keys, and every key of this "+
		"service has a TTL (gate leases, idempotency keys, ledger records): set maxmemory-policy to noeviction", e.Policy, e.Node)
}

// CheckEviction asks every node the client knows (each shard of a cluster)
// for its maxmemory-policy. Every key of the service has a TTL, so any
// policy but noeviction can evict them (volatile-* picks among keys with a
// TTL, allkeys-* among all): a lease evicted lets the gate admit past its
// capacity, a ledger record evicted lets a task issue a second code, both
// silently. Under noeviction a full Redis refuses writes instead, which the
// adapters report as unavailable (503).
//
// Every node is asked, whatever the others answer. It returns an
// *EvictionError when a node has another policy; else an error when a node
// could not be asked; else ErrConfigHidden (wrapped, naming the node) when
// a node refuses CONFIG GET; else nil.
func CheckEviction(ctx context.Context, client rueidis.Client) error {
	nodes := client.Nodes()
	addrs := make([]string, 0, len(nodes))
	for addr := range nodes {
		addrs = append(addrs, addr)
	}
	sort.Strings(addrs)
	var unasked, hidden error
	for _, addr := range addrs {
		node := nodes[addr]
		got, err := node.Do(ctx, node.B().ConfigGet().Parameter("maxmemory-policy").Build()).AsStrMap()
		var redisErr *rueidis.RedisError
		switch {
		case errors.As(err, &redisErr):
			hidden = fmt.Errorf("%w (%s answered: %s)", ErrConfigHidden, addr, redisErr.Error())
		case err != nil:
			unasked = fmt.Errorf("redis client: check maxmemory-policy on %s: %w", addr, err)
		case got["maxmemory-policy"] == "":
			hidden = fmt.Errorf("%w (%s answered without it)", ErrConfigHidden, addr)
		case got["maxmemory-policy"] != "noeviction":
			return &EvictionError{Node: addr, Policy: got["maxmemory-policy"]}
		}
	}
	if unasked != nil {
		return unasked
	}
	return hidden
}
