package serverapp

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/adapters/httpapi"
	"github.com/1000x-rps-server/rps-server/configs"
	"github.com/1000x-rps-server/rps-server/domain"
)

func TestSharePolicy_DefaultIsFairByAddress(t *testing.T) {
	cfg := configs.Default()
	p, err := sharePolicy(cfg)
	require.NoError(t, err)
	assert.Equal(t, domain.SharePolicy{
		Enabled: true, Classes: map[string]domain.ClassLimits{domain.DefaultClass: {Weight: 1}}, Headroom: 10,
	}, p, "10% of 100 slots of headroom, the default class only")
	c, err := clientsOf(cfg, p)
	require.NoError(t, err)
	assert.Equal(t, httpapi.IdentityIP, c.By)
	assert.Equal(t, 64, c.IPv6Prefix)
	assert.Equal(t, p, c.Policy, "the API and the gates share one policy")
}

func TestSharePolicy_FractionsBecomeSlotsAndClassesLimits(t *testing.T) {
	sum := sha256.Sum256([]byte("ops-key"))
	hash := hex.EncodeToString(sum[:])
	cfg := configs.Default()
	cfg.Gate.Capacity = 250
	cfg.Fair.Headroom, cfg.Fair.CriticalReserve = 0.05, 0.2
	cfg.Fair.Classes = "partner weight=4 ceiling=40 rate=2.5; ops critical"
	cfg.Fair.Identity, cfg.Fair.Keys = configs.IdentityHeader, hash+"=ops"
	require.NoError(t, cfg.Validate())

	p, err := sharePolicy(cfg)
	require.NoError(t, err)
	assert.Equal(t, 13, p.Headroom, "5% of 250, rounded")
	assert.Equal(t, 50, p.CriticalReserve)
	assert.Equal(t, map[string]domain.ClassLimits{
		domain.DefaultClass: {Weight: 1},
		"partner":           {Weight: 4, Ceiling: 40, Rate: 2.5, Burst: 3}, // no burst: a second's worth
		"ops":               {Weight: 1, Critical: true},
	}, p.Classes)

	c, err := clientsOf(cfg, p)
	require.NoError(t, err)
	assert.Equal(t, httpapi.Clients{By: httpapi.IdentityHeader, Header: "X-API-Key", IPv6Prefix: 64,
		Classes: map[string]string{hash: "ops"}, Policy: p}, c)
}

func TestSharePolicy_SmallGateKeepsASlotForEveryone(t *testing.T) {
	cfg := configs.Default()
	cfg.Gate.Capacity = 2
	cfg.Fair.Headroom, cfg.Fair.CriticalReserve = 0.3, 0.3
	p, err := sharePolicy(cfg)
	require.NoError(t, err)
	assert.Equal(t, 0, p.Headroom)
	assert.Equal(t, 1, p.CriticalReserve, "what was asked for, at least one slot, never all")

	cfg.Gate.Capacity = 1
	p, err = sharePolicy(cfg)
	require.NoError(t, err)
	assert.Zero(t, p.Headroom+p.CriticalReserve)
}

func TestClients_OffIsAnonymous(t *testing.T) {
	cfg := configs.Default()
	cfg.Fair.Enabled = false
	p, err := sharePolicy(cfg)
	require.NoError(t, err)
	assert.False(t, p.Enabled)
	c, err := clientsOf(cfg, p)
	require.NoError(t, err)
	assert.Equal(t, httpapi.IdentityNone, c.By)
}
