package kafkabroker

import (
	"errors"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// Delivery is what a failed Produce, or a delivery report's error, means
// for the message: whether producing it again can ever succeed.
type Delivery int

// What a delivery failure means (ClassifyDelivery).
const (
	// DeliveryRetry is a transient failure: the broker out of reach, a
	// leader moving, the message timed out in the client's queue. Producing
	// it again may succeed.
	DeliveryRetry Delivery = iota
	// DeliveryQueueFull is the client's local queue being full:
	// back-pressure, produce again in a moment.
	DeliveryQueueFull
	// DeliveryTopicGone is a topic that does not exist (any more).
	DeliveryTopicGone
	// DeliveryRefused is a message refused for good (too large, not
	// authorised, an invalid topic or record): producing it again fails
	// the same way.
	DeliveryRefused
	// DeliveryFatal is a producer that cannot go on: librdkafka raised a
	// fatal error, so nothing it holds or is given can be delivered.
	DeliveryFatal
)

// Reasons ClassifyDelivery gives: short, fixed words for metric labels and
// log lines.
const (
	ReasonTimedOut      = "timed_out"
	ReasonQueueFull     = "queue_full"
	ReasonTopicGone     = "unknown_topic"
	ReasonTooLarge      = "too_large"
	ReasonNotAuthorized = "not_authorized"
	ReasonInvalidTopic  = "invalid_topic"
	ReasonInvalidRecord = "invalid_record"
	ReasonRefused       = "refused"
	ReasonFatal         = "fatal"
	ReasonTransient     = "transient"
)

// transient are the codes librdkafka reports for a message that may go
// through later: its local timeouts and connection losses, and the broker
// errors Kafka's protocol marks retriable. librdkafka retries those itself
// within message.timeout.ms, so a delivery report carries one only when that
// time ran out; any other error in a report is one it judged not worth
// retrying.
var transient = map[kafka.ErrorCode]bool{
	kafka.ErrMsgTimedOut: true, kafka.ErrTimedOut: true, kafka.ErrTimedOutQueue: true,
	kafka.ErrTransport: true, kafka.ErrAllBrokersDown: true, kafka.ErrResolve: true,
	kafka.ErrDestroy: true, kafka.ErrDestroyBroker: true, kafka.ErrRetry: true, kafka.ErrIsrInsuff: true,
	kafka.ErrPurgeQueue: true, kafka.ErrPurgeInflight: true, kafka.ErrWaitCoord: true, kafka.ErrUnknownBroker: true,
	kafka.ErrLeaderNotAvailable: true, kafka.ErrNotLeaderForPartition: true, kafka.ErrRequestTimedOut: true,
	kafka.ErrBrokerNotAvailable: true, kafka.ErrReplicaNotAvailable: true, kafka.ErrNetworkException: true,
	kafka.ErrNotEnoughReplicas: true, kafka.ErrNotEnoughReplicasAfterAppend: true, kafka.ErrKafkaStorageError: true,
	kafka.ErrNotController: true, kafka.ErrFencedLeaderEpoch: true, kafka.ErrUnknownLeaderEpoch: true,
	kafka.ErrOffsetNotAvailable: true, kafka.ErrPreferredLeaderNotAvailable: true,
	kafka.ErrEligibleLeadersNotAvailable: true, kafka.ErrThrottlingQuotaExceeded: true,
	kafka.ErrCoordinatorLoadInProgress: true, kafka.ErrCoordinatorNotAvailable: true, kafka.ErrNotCoordinator: true,
	kafka.ErrRebootstrapRequired: true,
	// A failed login cuts the client off from the broker for every
	// message alike: an outage, not a refusal of this one.
	kafka.ErrAuthentication: true, kafka.ErrSaslAuthenticationFailed: true,
}

// refusedReason names the permanent refusals an operator can act on; other
// permanent codes are ReasonRefused.
func refusedReason(code kafka.ErrorCode) string {
	switch code {
	case kafka.ErrMsgSizeTooLarge, kafka.ErrRecordListTooLarge, kafka.ErrInvalidMsgSize:
		return ReasonTooLarge
	case kafka.ErrTopicAuthorizationFailed, kafka.ErrClusterAuthorizationFailed, kafka.ErrTransactionalIDAuthorizationFailed:
		return ReasonNotAuthorized
	case kafka.ErrTopicException, kafka.ErrInvalidPartitions:
		return ReasonInvalidTopic
	case kafka.ErrInvalidMsg, kafka.ErrInvalidRecord, kafka.ErrBadMsg, kafka.ErrInvalidTimestamp,
		kafka.ErrUnsupportedForMessageFormat, kafka.ErrInvalidRequiredAcks:
		return ReasonInvalidRecord
	}
	return ReasonRefused
}

// ClassifyDelivery says what err, returned by Produce or carried by a
// delivery report, means for the message, with a short reason. It reads
// librdkafka's own verdict first (IsFatal, TxnRequiresAbort, IsRetriable,
// set on errors of its newer APIs), then the error code; an error that is
// not a kafka.Error is transient.
func ClassifyDelivery(err error) (Delivery, string) {
	var kerr kafka.Error
	if !errors.As(err, &kerr) {
		return DeliveryRetry, ReasonTransient
	}
	code := kerr.Code()
	switch {
	// A transactional abort never happens here (no producer of ours is
	// transactional); were it to, this producer could not go on either.
	case kerr.IsFatal() || kerr.TxnRequiresAbort() || code == kafka.ErrFatal:
		return DeliveryFatal, ReasonFatal
	case code == kafka.ErrQueueFull:
		return DeliveryQueueFull, ReasonQueueFull
	case IsUnknownTopic(kerr):
		return DeliveryTopicGone, ReasonTopicGone
	case code == kafka.ErrMsgTimedOut || code == kafka.ErrRequestTimedOut || kerr.IsTimeout():
		return DeliveryRetry, ReasonTimedOut
	case kerr.IsRetriable() || transient[code]:
		return DeliveryRetry, ReasonTransient
	}
	return DeliveryRefused, refusedReason(code)
}
