package infra

import (
	"context"
	"fmt"
	"os"
	"os/exec"
)

// BuildServiceBinaries builds cmd/server and cmd/worker into a new temporary
// directory named after prefix, for a TestMain of a package under tests/
// (the caller removes it). Build output goes to stderr.
func BuildServiceBinaries(prefix string) (string, error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", fmt.Errorf("build service binaries: %w", err)
	}
	cmd := exec.CommandContext(context.Background(), "go", "build", "-o", dir+string(os.PathSeparator), "../../cmd/server", "../../cmd/worker")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		_ = os.RemoveAll(dir)
		return "", fmt.Errorf("build service binaries: %w", err)
	}
	return dir, nil
}
