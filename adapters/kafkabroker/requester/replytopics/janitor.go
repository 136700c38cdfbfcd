package replytopics

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker"
	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/topics"
)

//go:generate go tool mockgen -destination=replytopicsmocks/mocks.go -package=replytopicsmocks . Admin

// Admin is what the janitor asks Kafka: NewAdmin in production, a mock in
// the unit tests.
type Admin interface {
	// Topics lists the name of every topic in the cluster.
	Topics(ctx context.Context) ([]string, error)
	// Look reads the id and end offset of each named one-partition topic;
	// a topic that could not be read (or has more partitions: not a reply
	// topic) is absent from the map.
	Look(ctx context.Context, names []string) (map[string]Look, error)
	// Marked reports whether topic carries the mark (TopicConfig) this
	// version puts on the reply topics it makes.
	Marked(ctx context.Context, topic string) (bool, error)
	// Delete deletes topic and reports whether this call deleted it: one
	// already gone (another janitor was first) is no error, and not this
	// janitor's deletion.
	Delete(ctx context.Context, topic string) (bool, error)
}

// Look is what one read of a topic tells: which topic it is (a name made
// again is another topic, with another id) and where its end is.
type Look struct {
	ID  string
	End int64
}

// Config sets up a Janitor. Every field is required unless it says otherwise.
type Config struct {
	// Scheme picks this deployment's reply topics out of the cluster's.
	Scheme Scheme
	// Own is this instance's reply topic, never deleted by its own janitor.
	Own string
	// Grace is how long a reply topic must be seen standing still before it
	// is deleted (CheckTiming).
	Grace  time.Duration
	Logger *slog.Logger
	// Deleted counts the topics this janitor deleted; Topics is how many
	// reply topics of the scheme its last pass saw, Own included.
	Deleted prometheus.Counter
	Topics  prometheus.Gauge
	// Now reads the clock. Optional: time.Now (whose monotonic reading
	// keeps running while the process is stopped); tests set a fake one.
	Now func() time.Time
}

// watch is what the janitor knows of one topic: its last read, and since
// when that read has not changed.
type watch struct {
	look  Look
	since time.Time
	// unmarked: the topic lacks this version's mark, so it is left alone
	// and not asked about again while it stays as it is.
	unmarked bool
	// refused: a delete of it failed, logged once per watch.
	refused bool
}

// Janitor deletes the reply topics of gone instances. A topic is deleted
// only after this janitor read its end offset unchanged, under the same
// topic id, at two passes at least the grace apart with no failed read in
// between, and once more right before the delete. A pass that fails forgets
// every watch, so a janitor cut off from Kafka starts its watches again.
// It is used by one goroutine (Run, or a test calling Pass).
type Janitor struct {
	cfg     Config
	admin   Admin
	watches map[string]watch
	failing bool // the last pass failed: logged once per run of failures
}

// NewJanitor returns a janitor that has seen nothing yet, so it deletes
// nothing before one grace has passed: a topic made a moment ago, with
// no record in it yet, is watched like any other.
func NewJanitor(admin Admin, cfg Config) *Janitor {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Janitor{cfg: cfg, admin: admin, watches: map[string]watch{}}
}

// passTimeout bounds one pass's calls to Kafka.
const passTimeout = topics.AdminTimeout

// Run makes a pass about every PassEvery(grace), jittered, until ctx ends.
// While up reports Kafka out of reach it makes none and forgets its
// watches: it cannot see the topics meanwhile.
func (j *Janitor) Run(ctx context.Context, up func() bool) {
	every := PassEvery(j.cfg.Grace)
	for {
		if !kafkabroker.Sleep(ctx, every*3/4+rand.N(every/2+1)) {
			return
		}
		if !up() {
			j.forget()
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, passTimeout)
		err := j.Pass(pctx)
		cancel()
		switch {
		case err != nil && !j.failing && ctx.Err() == nil:
			j.cfg.Logger.Warn("reply topic janitor: pass failed; watching again from the next pass", "err", err)
		case err == nil && j.failing:
			j.cfg.Logger.Info("reply topic janitor: passes work again")
		}
		j.failing = err != nil
	}
}

// Pass looks at the deployment's reply topics once and deletes those whose
// end offset stood still for the grace.
func (j *Janitor) Pass(ctx context.Context) error {
	all, err := j.admin.Topics(ctx)
	if err != nil {
		j.forget()
		return fmt.Errorf("list topics: %w", err)
	}
	var names []string
	seen := 0
	for _, t := range all {
		if !j.cfg.Scheme.Match(t) {
			continue
		}
		seen++
		if t != j.cfg.Own {
			names = append(names, t)
		}
	}
	j.cfg.Topics.Set(float64(seen))
	if len(names) == 0 {
		j.forget()
		return nil
	}
	asked := j.cfg.Now()
	looks, err := j.admin.Look(ctx, names)
	answered := j.cfg.Now()
	if err != nil {
		j.forget()
		return fmt.Errorf("read reply topics: %w", err)
	}
	for _, name := range j.observe(names, looks, asked, answered) {
		if j.remove(ctx, name, asked) {
			seen--
		}
	}
	j.cfg.Topics.Set(float64(seen))
	return nil
}

// observe records this pass's reads and returns the topics due for
// deletion. Kafka read the offsets somewhere between asked and answered: a
// topic read for the first time, under another id or with its end moved
// starts a watch at answered (its last record can be that late); a topic
// whose read is unchanged is due once asked is the grace past its watch's
// start, so no record reached it for at least the grace. A topic not read
// this pass loses its watch.
func (j *Janitor) observe(names []string, looks map[string]Look, asked, answered time.Time) []string {
	next := make(map[string]watch, len(names))
	var due []string
	for _, name := range names {
		look, ok := looks[name]
		if !ok {
			continue
		}
		w, watched := j.watches[name]
		switch {
		case !watched || w.look != look:
			w = watch{look: look, since: answered}
		case asked.Sub(w.since) >= j.cfg.Grace && !w.unmarked:
			due = append(due, name)
		}
		next[name] = w
	}
	j.watches = next
	return due
}

// remove deletes a due topic if it carries this version's mark and its end
// still has not moved (its instance may have resumed since the pass read
// it); it reports whether it deleted it.
func (j *Janitor) remove(ctx context.Context, name string, asked time.Time) bool {
	w := j.watches[name]
	marked, err := j.admin.Marked(ctx, name)
	if err != nil {
		j.cfg.Logger.Debug("reply topic janitor: mark not read; trying at the next pass", "topic", name, "err", err)
		return false
	}
	if !marked {
		w.unmarked = true
		j.watches[name] = w
		j.cfg.Logger.Info("reply topic janitor: a silent topic without this version's mark is left alone (an older server's, or not a reply topic); delete it by hand if nothing uses it",
			"topic", name, "silent_for", asked.Sub(w.since).Round(time.Second).String())
		return false
	}
	again, err := j.admin.Look(ctx, []string{name})
	if err != nil || again[name] != w.look {
		return false // moved, or not read: the next pass decides
	}
	deleted, err := j.admin.Delete(ctx, name)
	if err != nil {
		if !w.refused {
			j.cfg.Logger.Warn("reply topic janitor: delete failed; trying again at each pass", "topic", name, "err", err)
		}
		w.refused = true
		j.watches[name] = w
		return false
	}
	delete(j.watches, name)
	if !deleted { // another instance's janitor deleted it first: counted there
		return false
	}
	j.cfg.Deleted.Inc()
	j.cfg.Logger.Info("reply topic of a gone instance deleted", "topic", name,
		"silent_for", asked.Sub(w.since).Round(time.Second).String())
	return true
}

// forget drops every watch: what was seen before a gap proves nothing.
func (j *Janitor) forget() { clear(j.watches) }
