// Package ports declares the interfaces the core needs from the outside world
// (driven ports): a concurrency gate, a task broker, the processor a broker
// hands tasks to, the ledger that makes issuance exactly-once, and the store
// that answers a client's retries by their idempotency key. Adapters
// implement them; the app depends only on them.
//
// Every method takes a context and reports failures as the sentinel errors of
// package domain, so callers never see a driver's error type.
package ports

//go:generate go tool mockgen -destination=portmocks/mocks.go -package=portmocks . ConcurrencyGate,TaskBroker,TaskProcessor,IssuanceLedger,IdempotencyStore
