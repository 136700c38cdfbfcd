package kafkabroker

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// clientLogs routes librdkafka's own log lines into the slog logger instead
// of raw text on stderr. Errors that matter reach us a second time as
// kafka.Error events, which are logged at warn where they are handled; so
// librdkafka's lines go to debug, except configuration warnings, which
// point at a mistake in Settings.
type clientLogs struct {
	ch   chan kafka.LogEvent
	done chan struct{}
}

func newClientLogs(log *slog.Logger) *clientLogs {
	l := &clientLogs{ch: make(chan kafka.LogEvent, 256), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for e := range l.ch {
			level := slog.LevelDebug
			if e.Tag == "CONFWARN" {
				level = slog.LevelWarn
			}
			log.Log(context.Background(), level, e.Message, "rdkafka", e.Name, "tag", e.Tag, "syslog_level", e.Level)
		}
	}()
	return l
}

// attach makes a client configured with conf log through l.
func (l *clientLogs) attach(conf *kafka.ConfigMap) {
	_ = conf.SetKey("go.logs.channel.enable", true)
	_ = conf.SetKey("go.logs.channel", l.ch)
}

// close ends the forwarding; call it after every attached client is closed.
func (l *clientLogs) close() {
	close(l.ch)
	<-l.done
}

// errorLogEvery is how often one kind of client error is logged at most.
const errorLogEvery = 10 * time.Second

// errorLog logs the kafka.Error events of the clients at warn, each error
// code at most once per errorLogEvery with the count of repeats left out,
// so an outage is visible without a line per reconnect attempt.
type errorLog struct {
	log        *slog.Logger
	mu         sync.Mutex
	last       map[kafka.ErrorCode]time.Time
	suppressed map[kafka.ErrorCode]int
}

func newErrorLog(log *slog.Logger) *errorLog {
	return &errorLog{log: log, last: map[kafka.ErrorCode]time.Time{}, suppressed: map[kafka.ErrorCode]int{}}
}

// note logs e from client ("producer", "consumer") unless its code was
// logged within errorLogEvery.
func (l *errorLog) note(client string, e kafka.Error) {
	code := e.Code()
	l.mu.Lock()
	if time.Since(l.last[code]) < errorLogEvery {
		l.suppressed[code]++
		l.mu.Unlock()
		return
	}
	repeats := l.suppressed[code]
	l.last[code], l.suppressed[code] = time.Now(), 0
	l.mu.Unlock()
	l.log.Warn("kafka client error", "client", client, "code", code.String(), "err", e.Error(), "repeats_not_logged", repeats)
}
