// Package leases makes the block mode's two calls to Redis: a take of up to
// a block of leases, and an instance's periodic sync. It holds their keys
// and arguments; the scripts are the gate's (take.lua, sync.lua), and what to
// ask for, and what the answers mean for the local pool, is the caller's.
package leases

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/redis/rueidis"
)

// Config sets up Calls. The keys must share the gate key's {hash tag}.
type Config struct {
	Client rueidis.Client
	// Take and Sync are the gate's take.lua and sync.lua.
	Take, Sync                             *rueidis.Lua
	Key, Undone, Instances, ContentionFlag string
	// Share, Levels, Active and Weight are the fair share's hash, its
	// levels, the active clients and their weight.
	Share, Levels, Active, Weight string
	Capacity                      int
	Lease                         time.Duration
	// Window is how long a refusal marks the gate contended, and how long
	// an instance counts as active after its last call.
	Window time.Duration
	// ClientWindow is how long a client counts as active after a sync
	// reported it (domain.SharePolicy.Window).
	ClientWindow time.Duration
}

// State is what Redis said of the gate: whether a take was refused lately,
// how many instances were active lately (at least 1), and (from a sync) how
// many clients.
type State struct {
	Contended bool
	Instances int
	Clients   int
}

// Calls is safe for concurrent use.
type Calls struct {
	client             rueidis.Client
	take, sync         *rueidis.Lua
	takeKeys, syncKeys []string
	instance           string // this instance's id in the active set and in its call ids
	calls              atomic.Uint64
	capacity           string
	lease, window      string
	clientWindow       string
}

// New returns the calls of one instance.
func New(cfg Config) *Calls {
	return &Calls{
		client: cfg.Client, take: cfg.Take, sync: cfg.Sync,
		takeKeys: []string{cfg.Key, cfg.Undone, cfg.Instances, cfg.ContentionFlag, cfg.Share, cfg.Levels},
		syncKeys: []string{cfg.Key, cfg.Instances, cfg.ContentionFlag, cfg.Share, cfg.Active, cfg.Weight, cfg.Levels},
		instance: uuid.NewString(), capacity: strconv.Itoa(cfg.Capacity),
		lease: ms(cfg.Lease), window: ms(cfg.Window), clientWindow: ms(cfg.ClientWindow),
	}
}

// Take asks for up to want leases. call names the take (undo.lua undoes it
// whole when the answer is lost); members are the leases granted.
func (c *Calls) Take(ctx context.Context, want int) (call string, members []string, st State, err error) {
	call = c.instance + ":" + strconv.FormatUint(c.calls.Add(1), 36)
	reply, err := c.take.Exec(ctx, c.client, c.takeKeys,
		[]string{call, strconv.Itoa(want), c.capacity, c.lease, c.instance, c.window}).AsIntSlice()
	if err == nil && (len(reply) != 3 || reply[0] < 0) { // -1: an undone call id, never in this service
		err = fmt.Errorf("take: unexpected reply %v", reply)
	}
	if err != nil {
		return call, nil, State{}, err
	}
	members = make([]string, reply[0])
	for i := range members {
		members[i] = call + ":" + strconv.Itoa(i+1)
	}
	return call, members, State{Contended: reply[1] == 1, Instances: int(reply[2])}, nil
}

// Sync gives back give, renews renew, marks clients (weight|client)
// active and says whether the instance still holds leases (holding, after
// this call). lost are the members of renew that Redis no longer has.
func (c *Calls) Sync(ctx context.Context, holding int, give, clients, renew []string) (lost []string, st State, err error) {
	args := make([]string, 0, 7+len(give)+len(clients)+len(renew))
	args = append(args, c.lease, c.instance, c.window, strconv.Itoa(holding), strconv.Itoa(len(give)),
		strconv.Itoa(len(clients)), c.clientWindow)
	args = append(append(append(args, give...), clients...), renew...)
	reply, err := c.sync.Exec(ctx, c.client, c.syncKeys, args).ToArray()
	if err == nil && len(reply) < 3 {
		err = fmt.Errorf("sync: unexpected reply of %d values", len(reply))
	}
	if err != nil {
		return nil, State{}, err
	}
	contended, errC := reply[0].AsInt64()
	instances, errI := reply[1].AsInt64()
	active, errA := reply[2].AsInt64()
	for _, m := range reply[3:] {
		s, err := m.ToString()
		if err != nil {
			return nil, State{}, fmt.Errorf("sync: lost member: %w", err)
		}
		lost = append(lost, s)
	}
	if err := errors.Join(errC, errI, errA); err != nil {
		return nil, State{}, fmt.Errorf("sync: %w", err)
	}
	return lost, State{Contended: contended == 1, Instances: int(instances), Clients: int(active)}, nil
}

func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }
