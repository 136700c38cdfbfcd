package faults_test

import "github.com/1000x-rps-server/rps-server/tests/infra"

// lag is how many tasks of the stack's tasks topic the workers' group has
// not committed yet (-1 when it cannot be asked): 0 means committed offsets
// reached the end.
func (k kafkaStack) lag() int64 {
	return infra.GroupLag(k.bootstrap, k.group(), k.tasksTopic())
}
