package kafkabroker

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// ClientLogs routes librdkafka's own log lines into the slog logger instead
// of raw text on stderr. Errors that matter reach us a second time as
// kafka.Error events, which are logged at warn where they are handled; so
// librdkafka's lines go to debug, except configuration warnings, which
// point at a mistake in Settings.
type ClientLogs struct {
	ch   chan kafka.LogEvent
	done chan struct{}
}

// NewClientLogs starts forwarding; pass it to the client settings of
// settings.go, and Close it after every client using it is closed.
func NewClientLogs(log *slog.Logger) *ClientLogs {
	l := &ClientLogs{ch: make(chan kafka.LogEvent, 256), done: make(chan struct{})}
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

// Close ends the forwarding; call it after every client using it is closed.
func (l *ClientLogs) Close() {
	close(l.ch)
	<-l.done
}

// errorLogEvery is how often one kind of client error is logged at most.
const errorLogEvery = 10 * time.Second

// ErrorLog logs the kafka.Error events of the clients at warn, each error
// code at most once per errorLogEvery with the count of repeats left out,
// so an outage is visible without a line per reconnect attempt.
type ErrorLog struct {
	log        *slog.Logger
	mu         sync.Mutex
	last       map[kafka.ErrorCode]time.Time
	suppressed map[kafka.ErrorCode]int
}

// NewErrorLog logs to log.
func NewErrorLog(log *slog.Logger) *ErrorLog {
	return &ErrorLog{log: log, last: map[kafka.ErrorCode]time.Time{}, suppressed: map[kafka.ErrorCode]int{}}
}

// Note logs e from client ("producer", "consumer") unless its code was
// logged within errorLogEvery.
func (l *ErrorLog) Note(client string, e kafka.Error) {
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
