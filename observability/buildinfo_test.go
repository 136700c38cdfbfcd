package observability

import (
	"runtime"
	"testing"
)

func TestReadBuildInfoPrefersTheStampedVersion(t *testing.T) {
	info := ReadBuildInfo("server", "v1.2.3")
	if got, want := info.String(), "server v1.2.3 ("+runtime.Version()+")"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
}

func TestReadBuildInfoWithoutAStampSaysDev(t *testing.T) {
	// A test binary has no module version ("(devel)"), as a plain go build.
	if got := ReadBuildInfo("worker", "").Version; got != "dev" {
		t.Fatalf("Version = %q, want dev", got)
	}
}

func TestRegisterBuildInfoExportsTheGauge(t *testing.T) {
	reg := NewRegistry()
	if err := RegisterBuildInfo(reg, BuildInfo{Binary: "server", Version: "v1.2.3", GoVersion: "go1.26.8"}); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "rps_build_info" {
			continue
		}
		m := f.GetMetric()[0]
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["version"] != "v1.2.3" || labels["goversion"] != "go1.26.8" || m.GetGauge().GetValue() != 1 {
			t.Fatalf("rps_build_info = %v %v, want {version=v1.2.3, goversion=go1.26.8} 1", labels, m.GetGauge().GetValue())
		}
		return
	}
	t.Fatal("no rps_build_info in the registry")
}
