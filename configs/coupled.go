package configs

import "fmt"

// coupled returns the first pair of settings that disagree: each is valid
// alone, together they make a system that fails the wrong way. Pairs that an
// adapter depends on (the gate's lease and hold, Kafka's timeouts) are that
// adapter's rules, which start-up runs (Rule).
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
	return nil
}
