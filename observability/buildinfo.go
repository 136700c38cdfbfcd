package observability

import (
	"fmt"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// BuildInfo says which build of a binary is running, for -version and for
// the rps_build_info gauge, so a dashboard can tell a rollout's old
// instances from its new ones.
type BuildInfo struct {
	Binary    string // "server" or "worker"
	Version   string // stamped at link time, else the module's version, else "dev"
	GoVersion string
}

// ReadBuildInfo describes the running binary. stamped is the version set at
// link time (-ldflags "-X main.version=v1.2.3"); when empty, the module
// version Go recorded (set by `go install module@version`) is used.
func ReadBuildInfo(binary, stamped string) BuildInfo {
	info := BuildInfo{Binary: binary, Version: stamped, GoVersion: "unknown"}
	bi, ok := debug.ReadBuildInfo()
	if ok {
		info.GoVersion = bi.GoVersion
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
	}
	if info.Version == "" {
		info.Version = "dev"
	}
	return info
}

// String is the -version line: "server v1.2.3 (go1.26.8)".
func (b BuildInfo) String() string {
	return fmt.Sprintf("%s %s (%s)", b.Binary, b.Version, b.GoVersion)
}

// RegisterBuildInfo adds the constant gauge rps_build_info{version,goversion} 1
// to reg.
func RegisterBuildInfo(reg prometheus.Registerer, b BuildInfo) error {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "rps_build_info",
		Help:        "Always 1; its labels say which build of the binary is running.",
		ConstLabels: prometheus.Labels{"version": b.Version, "goversion": b.GoVersion},
	})
	g.Set(1)
	if err := reg.Register(g); err != nil {
		return fmt.Errorf("register build info: %w", err)
	}
	return nil
}
