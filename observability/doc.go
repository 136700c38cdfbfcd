// Package observability builds the process's logger and carries the request
// id through contexts, so every log line of a request can be joined.
package observability
