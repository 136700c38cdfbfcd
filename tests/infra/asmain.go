package infra

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// asMainVar, set to 1 in a test binary's environment, makes it run its
// package's main instead of the tests (see ActAsMain). Not an RPS_ name: the
// binaries' config would refuse an unknown one.
const asMainVar = "TEST_BINARY_AS_MAIN"

// ActAsMain runs main, then exits, when RunMain started this test binary
// to be its command's main. The command's tests call it from an init
// function, which runs before TestMain and the test flags:
//
//	func init() { infra.ActAsMain(main) }
func ActAsMain(main func()) {
	if os.Getenv(asMainVar) == "1" {
		main()
		os.Exit(0)
	}
}

// RunMain runs the test binary as its command's main with args and only
// the variables in environ (nothing of the test's own environment), and
// returns what it printed and its exit code: the real main, os.Exit
// included, without building the command.
func RunMain(t *testing.T, environ []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append([]string{asMainVar + "=1"}, environ...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return out.String(), errOut.String(), exit.ExitCode()
	}
	require.NoError(t, err, "run %s as main", os.Args[0])
	return out.String(), errOut.String(), 0
}
