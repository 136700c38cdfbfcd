package rediscluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/google/uuid"
	"github.com/redis/rueidis"
	"github.com/stretchr/testify/require"

	"github.com/1000x-rps-server/rps-server/tests/infra"
	"github.com/1000x-rps-server/rps-server/tests/metricstest"
)

// binDir holds the cmd/server and cmd/worker binaries, built once by TestMain.
var binDir string

func TestMain(m *testing.M) {
	dir, err := infra.BuildServiceBinaries("rps-rediscluster-bin")
	binDir = dir
	if err != nil {
		fmt.Fprintln(os.Stderr, "rediscluster: build:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(binDir)
	os.Exit(code)
}

// Settings of every scenario: a small gate that the load fills now and
// then, a reply timeout well above a failover, a request deadline above it.
const (
	capacity       = 8
	replyTimeout   = 5 * time.Second
	requestTimeout = 7 * time.Second
	nodeTimeout    = time.Second // cluster-node-timeout
)

// stack is one server and one worker, real processes, on the cluster and
// the shared Kafka, with topics, group, gate key and ledger prefix of
// their own.
type stack struct {
	t            *testing.T
	cluster      *infra.RedisCluster
	id           string
	gateKey      string // one hash tag: the gate's keys live on one master
	ledgerPrefix string // no hash tag: the records spread over every master
	bootstrap    string
	base         string // the server's http://host:port
	serverLog    string // its log file
	env          []string
}

func startStack(t *testing.T, c *infra.RedisCluster, extra ...string) *stack {
	t.Helper()
	id := uuid.NewString()[:8]
	s := &stack{t: t, cluster: c, id: id, gateKey: "{rc-" + id + "}:gate", ledgerPrefix: "rc-" + id + ":issued:",
		bootstrap: infra.KafkaBootstrap(t)}
	s.env = append([]string{
		"REDIS_URL=" + c.URL(), "RPS_REDIS__CLUSTER__ADDRS=" + c.Seeds(),
		"KAFKA_BOOTSTRAP_SERVERS=" + s.bootstrap,
		"TASKS_TOPIC=rc-tasks-" + id, "RESULTS_TOPIC=rc-results-" + id, "RPS_KAFKA__TASKS_PARTITIONS=3",
		"RPS_WORKER__GROUP=rc-" + id, "RPS_WORKER__LEDGER_PREFIX=" + s.ledgerPrefix, "RPS_WORKER__LEDGER_TTL=10m",
		"RATE_LIMIT_CAPACITY=" + strconv.Itoa(capacity), "RPS_GATE__KEY=" + s.gateKey,
		"KAFKA_GIFT_CODE_TIMEOUT=" + strconv.Itoa(int(replyTimeout.Seconds())),
		"RPS_HTTP__REQUEST_TIMEOUT=" + requestTimeout.String(), "RPS_HTTP__SHUTDOWN_DELAY=0s",
		"RPS_LOG__FORMAT=json", "RPS_LOG__LEVEL=info",
	}, extra...)
	admin := infra.FreeAddr(t)
	infra.StartService(t, filepath.Join(binDir, "worker"), append(s.env, "RPS_WORKER__ADMIN_ADDR="+admin), "http://"+admin+"/readyz", true)
	addr := infra.FreeAddr(t)
	host, port, _ := strings.Cut(addr, ":")
	s.base = "http://" + addr
	s.serverLog = infra.StartService(t, filepath.Join(binDir, "server"), append(s.env, "HOST="+host, "PORT="+port), s.base+"/readyz", true)
	return s
}

// ledgerFailures counts the server's 502s for a worker that could not
// record its code (the ledger's master unreachable): the documented answer
// to a ledger outage (README, Failure modes).
func ledgerFailures(t *testing.T, logPath string) int {
	t.Helper()
	b, err := os.ReadFile(logPath)
	require.NoError(t, err)
	n := 0
	for line := range strings.Lines(string(b)) {
		if strings.Contains(line, `"status":502`) && strings.Contains(line, "record issuance") {
			n++
		}
	}
	return n
}

// disrupted is how long after from the last request answered other than
// 200 or 429 was sent, in steps of 100 ms, until to: how long the fault
// was felt.
func disrupted(l *infra.OpenLoad, from, to time.Time) time.Duration {
	var last time.Duration
	for at := from; at.Before(to); at = at.Add(100 * time.Millisecond) {
		n := l.Between(at, at.Add(100*time.Millisecond))
		if n[infra.OutcomeUnavailable]+n[infra.OutcomeTimeout]+n[infra.OutcomeOther]+n[infra.OutcomeHang] > 0 {
			last = at.Add(100 * time.Millisecond).Sub(from)
		}
	}
	return last
}

// inUse samples the server's rps_gate_slots_in_use (slots its requests
// hold) every few milliseconds and keeps the highest value seen: above the
// capacity means the gate admitted more than it may.
type inUse struct {
	stop chan struct{}
	wg   sync.WaitGroup
	peak float64
}

func sampleInUse(base string) *inUse {
	u := &inUse{stop: make(chan struct{})}
	u.wg.Go(func() {
		for {
			select {
			case <-u.stop:
				return
			case <-time.After(5 * time.Millisecond):
				u.peak = max(u.peak, metricstest.ScrapeQuiet(base, "rps_gate_slots_in_use"))
			}
		}
	})
	return u
}

func (u *inUse) finish() int {
	close(u.stop)
	u.wg.Wait()
	return int(u.peak)
}

// clusterClient is a raw client of the cluster, to look at the gate and
// the ledger from outside.
func clusterClient(t *testing.T, c *infra.RedisCluster) rueidis.Client {
	t.Helper()
	opt, err := rueidis.ParseURL(c.URL())
	require.NoError(t, err)
	opt.InitAddress = append(opt.InitAddress, strings.Split(c.Seeds(), ",")...)
	opt.DisableCache = true
	cl, err := rueidis.NewClient(opt)
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	return cl
}

// ledgerCodes is every code the ledger holds under prefix, from every node
// that answers (SCAN is per node; a replica repeats its master's records),
// read through cl, which routes each key to its master.
func ledgerCodes(t *testing.T, c *infra.RedisCluster, cl rueidis.Client, prefix string) map[string]bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	codes := map[string]bool{}
	for _, addr := range c.Addrs() {
		node, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, ForceSingleClient: true,
			DisableCache: true, DisableRetry: true})
		if err != nil {
			continue // the killed master: its replica holds what survived
		}
		var cursor uint64
		for {
			e, err := node.Do(ctx, node.B().Scan().Cursor(cursor).Match(prefix+"*").Count(1000).Build()).AsScanEntry()
			require.NoError(t, err, "scan %s", addr)
			for _, k := range e.Elements {
				v, err := cl.Do(ctx, cl.B().Get().Key(k).Build()).ToString()
				require.NoError(t, err)
				codes[v] = true
			}
			if cursor = e.Cursor; cursor == 0 {
				break
			}
		}
		node.Close()
	}
	return codes
}

// replies reads every reply the workers sent to the server's reply topic
// and returns, per task (correlation id), the distinct codes it was
// answered with: two codes for one task is a code issued twice.
func replies(t *testing.T, s *stack) map[string]map[string]bool {
	t.Helper()
	c, err := kafka.NewConsumer(&kafka.ConfigMap{
		"bootstrap.servers": s.bootstrap, "group.id": "rc-check-" + s.id, "auto.offset.reset": "earliest",
		"enable.auto.commit": false, "topic.metadata.refresh.interval.ms": 500,
	})
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SubscribeTopics([]string{"^rc-results-" + s.id + `\..*`}, nil))
	out := map[string]map[string]bool{}
	// Until 3 s pass without a record once records came (the group join
	// takes a few seconds first), at most 30 s.
	start, last := time.Now(), time.Time{}
	for time.Since(start) < 30*time.Second && (last.IsZero() || time.Since(last) < 3*time.Second) {
		m, ok := c.Poll(200).(*kafka.Message)
		if !ok {
			continue
		}
		last = time.Now()
		var r struct {
			CorrelationID string  `json:"correlation_id"`
			Result        *string `json:"result"`
		}
		if json.Unmarshal(m.Value, &r) != nil || r.Result == nil {
			continue // probes, errors
		}
		if out[r.CorrelationID] == nil {
			out[r.CorrelationID] = map[string]bool{}
		}
		out[r.CorrelationID][*r.Result] = true
	}
	return out
}
