package redisgate

import "testing"

// The undone set must live in the gate key's Redis Cluster slot, or the
// scripts that touch both fail with CROSSSLOT.
func TestUndoneKeySharesTheHashSlot(t *testing.T) {
	for key, want := range map[string]string{
		"{rps}:gate":  "{rps}:gate:undone",
		"rps:gate":    "{rps:gate}:undone",
		"a{}b":        "{a{}b}:undone", // an empty tag is no tag: Redis hashes the whole key
		"x{tag}y{z}w": "x{tag}y{z}w:undone",
	} {
		if got := undoneKey(key); got != want {
			t.Errorf("undoneKey(%q) = %q, want %q", key, got, want)
		}
	}
}
