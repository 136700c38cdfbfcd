// Package app holds the use cases: SubmitTask on the server side, with the
// SubmitOnce decorator for idempotency keys, and ProcessTask on the worker
// side, with the ExactlyOnce decorator. It depends only on domain and ports,
// so every adapter can be swapped without touching it.
package app
