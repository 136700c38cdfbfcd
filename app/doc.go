// Package app holds the use cases: SubmitTask on the server side and
// ProcessTask on the worker side. It depends only on domain and ports, so
// every adapter can be swapped without touching it.
package app
