package redisgate

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/1000x-rps-server/rps-server/adapters/redis/redisgate/internal/gatemetrics"
	"github.com/1000x-rps-server/rps-server/domain"
)

// fairLimits are fair.lua's codes of the limit that refused.
var fairLimits = map[int64]domain.Limit{
	1: domain.LimitCapacity, 2: domain.LimitFairShare, 3: domain.LimitCeiling, 4: domain.LimitRate,
}

// claims are what a block-mode instance passes along with a fair acquire:
// the clients it served locally since it last said (weight|client, to
// count as active), and the slots it handed out locally (member,
// weight|client pairs, to count against their clients).
type claims struct {
	clients []string
	owned   []string
}

// activeMember is a client's member of the active set: its weight and key.
func activeMember(weight int, client string) string {
	return strconv.Itoa(weight) + "|" + client
}

// fairAcquire takes slot id for who by fair.lua, in one call. It returns
// fair.lua's reply code (replyTaken, replyRenewed, replyUndone, or
// replyFull with the refusal), or the call's error.
func (c *core) fairAcquire(ctx context.Context, id string, who domain.Client, cl claims) (int64, *domain.Refusal, error) {
	limits := c.share.LimitsOf(who.ClassOf())
	critical := "0"
	if limits.Critical {
		critical = "1"
	}
	args := make([]string, 0, 14+len(cl.clients)+len(cl.owned))
	args = append(args, id, c.capacityArg, c.leaseArg, who.Key, strconv.Itoa(limits.WeightOrOne()),
		strconv.Itoa(limits.Ceiling), critical, c.headroomArg, c.reserveArg, c.windowArg,
		strconv.FormatInt(limits.Emission().Microseconds(), 10), strconv.Itoa(limits.BurstOrOne()),
		c.flagWindowArg, strconv.Itoa(len(cl.clients)))
	args = append(append(args, cl.clients...), cl.owned...)
	keys := []string{c.keys[0], c.keys[1], c.keys[2], c.activeKey, weightKey(c.keys[0]), rateKey(c.keys[0], who.Key), c.flagKey, c.keys[3]}
	reply, err := c.scripts.fair.Exec(ctx, c.client, keys, args).AsIntSlice()
	switch {
	case err != nil:
		return 0, nil, err
	case len(reply) == 1 && reply[0] >= replyTaken && reply[0] <= replyUndone:
		return reply[0], nil, nil
	case len(reply) != 4 || fairLimits[reply[1]] == "":
		return 0, nil, fmt.Errorf("fair acquire: unexpected reply %v", reply)
	}
	r := &domain.Refusal{Limit: fairLimits[reply[1]], Quota: domain.Quota{Limit: int(reply[2])}}
	if r.Limit == domain.LimitRate {
		r = limits.RateRefusal(time.Duration(reply[3]) * time.Microsecond)
	}
	return replyFull, r, nil
}

// refused counts a refusal and returns it: r, or the plain full gate of the
// gate without a share policy. By class and limit, refusals are the HTTP
// API's to count (rps_fair_refusals_total): one count per event.
func (c *core) refused(r *domain.Refusal) error {
	c.metrics.Acquires[gatemetrics.AtCapacity].Inc()
	if r == nil {
		return domain.ErrAtCapacity
	}
	return r
}
