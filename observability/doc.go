// Package observability builds the process's logger, carries the request id
// through contexts, so every log line of a request can be joined, and says
// which build is running (-version, rps_build_info).
package observability
