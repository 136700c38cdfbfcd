package taskworker

import (
	"fmt"
	"time"
)

// clockAllowance is how far the clocks of the servers (which stamp tasks)
// and the workers (which judge their age) may differ.
const clockAllowance = time.Minute

// CheckMaxTaskAge refuses a MaxTaskAge that could skip a task whose request
// still waits for it: the age must exceed the reply timeout by
// clockAllowance. Zero (every task runs) passes.
func CheckMaxTaskAge(maxAge, replyTimeout time.Duration) error {
	if maxAge == 0 || maxAge >= replyTimeout+clockAllowance {
		return nil
	}
	return fmt.Errorf("must be at least the reply timeout plus %s for clocks that differ, %s (got %s)",
		clockAllowance, replyTimeout+clockAllowance, maxAge)
}
