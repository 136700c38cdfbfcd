package configs

import "fmt"

// coupled returns the first pair of settings that disagree: each is valid
// alone, together they make a system that fails the wrong way.
func (c Config) coupled() *KeyError {
	if c.HTTP.RequestTimeout <= c.Task.ReplyTimeout {
		return &KeyError{
			Keys: []string{"http.request_timeout", "task.reply_timeout"},
			Msg: fmt.Sprintf("http.request_timeout must be longer than task.reply_timeout (got %s, reply timeout %s)",
				c.HTTP.RequestTimeout, c.Task.ReplyTimeout),
		}
	}
	if c.HTTP.WriteTimeout <= c.HTTP.RequestTimeout {
		// The server cuts a response still being waited for at the write
		// timeout: the client would see a dropped connection, not a 504.
		return &KeyError{
			Keys: []string{"http.write_timeout", "http.request_timeout"},
			Msg: fmt.Sprintf("http.write_timeout must be longer than http.request_timeout (got %s, request timeout %s)",
				c.HTTP.WriteTimeout, c.HTTP.RequestTimeout),
		}
	}
	if lease := c.GateLease(); c.Gate.BlockSize > 1 && c.Gate.BlockIdle > lease/4 {
		// The block mode syncs (and renews its leases) once per block_idle,
		// and renews every quarter lease: a longer interval lets leases lapse.
		// The Redis gate refuses the same when it is made; checked here, the
		// error names the keys and where they were set.
		return &KeyError{
			Keys: []string{"gate.block_idle", "task.reply_timeout", "gate.lease_margin"},
			Msg: fmt.Sprintf("gate.block_idle must be at most a quarter of the lease, task.reply_timeout + gate.lease_margin (got %s, lease %s)",
				c.Gate.BlockIdle, lease),
		}
	}
	return nil
}
