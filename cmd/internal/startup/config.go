package startup

import (
	"fmt"
	"io"

	"github.com/1000x-rps-server/rps-server/configs"
)

// configCommand runs -print-config or -check-config, if args ask for one,
// and says so (done) with the exit code: 0 when the config is valid (the
// generic checks and the binary's rules, as at start-up), else 1 with the
// one-line error on stderr. Nothing is started, nothing is dialled. Other
// args are left to run, which reports a bad command line as it always has.
func configCommand(binary string, args, environ []string, stdout, stderr io.Writer) (code int, done bool) {
	a, err := configs.ParseArgs(binary, args, environ)
	if err != nil || (!a.PrintConfig && !a.CheckConfig) {
		return 0, false
	}
	cfg, origins, err := configs.LoadWithOrigins(a.Options(environ, rulesOf(binary)...))
	if err != nil {
		fmt.Fprintln(stderr, binary+":", err)
		return 1, true
	}
	if !a.PrintConfig {
		fmt.Fprintln(stdout, "config ok")
		return 0, true
	}
	fmt.Fprintf(stdout, "# The effective config of %s: every key, secrets masked, each value followed by where it was set.\n", binary)
	if err := cfg.WriteYAML(stdout, origins); err != nil {
		fmt.Fprintln(stderr, binary+": print config:", err)
		return 1, true
	}
	return 0, true
}

// rulesOf are the checks of binary's config beyond the generic ones: the
// adapters' rules, and for the worker that Kafka is configured (it consumes
// its tasks there).
func rulesOf(binary string) []configs.Rule {
	if binary == "worker" {
		return append(rules(), workerNeedsKafka)
	}
	return rules()
}

func workerNeedsKafka(cfg configs.Config) error {
	if cfg.UsesKafka() {
		return nil
	}
	return &configs.KeyError{Keys: []string{"kafka.bootstrap"},
		Msg: "kafka.bootstrap must be set for the worker, which consumes its tasks from Kafka: set KAFKA_BOOTSTRAP_SERVERS (the embedded server runs its worker in process)"}
}
