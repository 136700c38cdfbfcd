package report

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/load"
	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/stats"
)

// Record is summary.json: everything a reader needs to trust a figure.
type Record struct {
	Label      string            `json:"label"`
	Mode       string            `json:"mode"`
	Target     string            `json:"target"`
	Command    string            `json:"command"`
	Settings   map[string]string `json:"settings"` // every setting in effect
	Machine    Machine           `json:"machine"`
	Started    time.Time         `json:"started"`
	Finished   time.Time         `json:"finished"`
	StopReason string            `json:"stop_reason"`
	MeasuredS  float64           `json:"measured_s"`
	Sent       int64             `json:"requests_sent"`    // warm-up included
	Dropped    int64             `json:"requests_dropped"` // open model only
	// Stats are the figures of the measured window (for a sweep: of the knee
	// step, or of the first step when there is no knee).
	Stats  stats.Stats       `json:"stats"`
	Checks Checks            `json:"checks"`
	Sweep  *load.SweepResult `json:"sweep,omitempty"`
}

// Checks are the answers' checks: every 200 of POST /queue must carry a
// gift code starting GIFT-, and no code may come twice.
type Checks struct {
	QueueOK      int64 `json:"queue_ok"`
	MissingCodes int64 `json:"missing_codes"` // 200 without a gift_code (or not JSON)
	BadCodes     int64 `json:"bad_codes"`     // gift_code without the GIFT- prefix
	stats.CodeCheck
	Pass bool `json:"pass"`
}

// NewChecks reads the checks of a run: missing and malformed codes from the
// measured figures, duplicates from the whole run (warm-up included).
func NewChecks(s stats.Stats, codes stats.CodeCheck) Checks {
	c := Checks{CodeCheck: codes}
	for _, r := range s.Routes {
		for e, n := range r.Errors {
			switch {
			case strings.HasPrefix(e, "200 with"):
				c.MissingCodes += n
			case strings.HasPrefix(e, "gift_code without"):
				c.BadCodes += n
			}
		}
		if r.Name == "/queue" {
			c.QueueOK = r.Count(stats.OK)
		}
	}
	c.Pass = c.MissingCodes == 0 && c.BadCodes == 0 && c.Duplicates == 0
	return c
}

// Machine is where the run ran.
type Machine struct {
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	GoVersion string `json:"go_version"`
}

// ThisMachine describes the machine the bench runs on.
func ThisMachine() Machine {
	return Machine{
		CPUs: runtime.NumCPU(), CPUModel: cpuModel("/proc/cpuinfo"),
		OS: runtime.GOOS, Arch: runtime.GOARCH, GoVersion: runtime.Version(),
	}
}

// cpuModel reads the first "model name" of a /proc/cpuinfo file.
func cpuModel(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(key) == "model name" {
			return strings.TrimSpace(val)
		}
	}
	return "unknown"
}

// WriteJSON writes summary.json, indented.
func WriteJSON(w io.Writer, s Record) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}
