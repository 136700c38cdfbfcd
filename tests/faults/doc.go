// Package faults injects faults into the real stack and checks what a client
// and an operator would see: Redis stalled, restarted, killed or slowed (a
// throwaway redis-server behind an in-process toxiproxy), hostile HTTP
// clients (slowloris, oversized headers and bodies, thousands of idle
// connections, aborted requests) and SIGTERM under load. Each case runs the
// real cmd/server binary and ends by checking that its goroutines and memory
// came back. The tests are in the _test files; this file only names the
// package.
package faults
