// Package domain holds the vocabulary of the service: tasks, their results,
// gift codes, the clients that share the gate and the one rule that shares
// it (SharePolicy.Admit), and the errors the core speaks in. It imports
// nothing of ours, so every other layer can depend on it without cycles.
package domain
