// Package replytopics keeps the server instances' reply topics from leaking:
// it names them, says how often a live instance must mark its topic alive
// and how long a topic may stay silent, and runs the janitor that deletes
// the topics of instances that are gone (kill -9, OOM, a crash loop, a start
// that failed after its topic was made), which no clean shutdown deleted.
//
// A live instance marks its topic alive by writing to it (package requester
// sends a probe through it every heartbeat), so its end offset moves. The
// janitor, run by every live instance, deletes a reply topic of this
// deployment only after it has itself watched the topic's end offset stand
// still for the whole grace. Nothing compares clocks across machines: the
// janitor measures the silence on its own monotonic clock, between two reads
// of the same offset. docs/architecture.md ("Reply topics: heartbeats and the janitor")
// argues the design and its bounds.
package replytopics

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"regexp"
	"strconv"

	"github.com/1000x-rps-server/rps-server/adapters/kafkabroker/topics"
)

// NewInstanceID makes an instance id, "<host>-<pid>-<6 hex digits>", fresh
// at every start, so a restarted instance never reads its predecessor's
// topic.
func NewInstanceID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "instance"
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return topics.SanitizePart(host) + "-" + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b)
}

// Name is the reply topic of instance: "<results>.<instance>".
func Name(results, instance string) string { return results + "." + instance }

// Scheme tells the reply topics of one deployment (one results topic) made
// with NewInstanceID from every other topic: a user's "results.audit", the
// shared results topic itself, another deployment's reply topics.
type Scheme struct{ re *regexp.Regexp }

// NewScheme returns the scheme of the reply topics named after results.
func NewScheme(results string) Scheme {
	return Scheme{re: regexp.MustCompile(`^` + regexp.QuoteMeta(results) + `\.[A-Za-z0-9_-]+-[0-9]+-[0-9a-f]{6}$`)}
}

// Match reports whether topic is a reply topic of the scheme.
func (s Scheme) Match(topic string) bool { return s.re.MatchString(topic) }
