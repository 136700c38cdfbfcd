package kafkabroker

import (
	"testing"

	"github.com/1000x-rps-server/rps-server/domain"
)

// BenchmarkDecodeTask decodes a task as our servers send it (the worker's
// per-task cost), and the same bytes through the strict JSON decoder alone,
// which the fast path spares.
func BenchmarkDecodeTask(b *testing.B) {
	task := domain.Task{ID: "0193f1a2-5b6c-7d8e-9f01-23456789abcd", Kind: domain.KindGiftCode, RequestID: "0193f1a2-5b6c-7d8e-9f01-23456789abce"}
	m, err := EncodeTask(task, "tasks", "results.0193f1a2")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("decode_task", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := DecodeTask(m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("strict_json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var tm taskMessage
			if err := strictUnmarshal(m.Value, &tm); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkDecodeReply decodes a successful reply as our workers send it
// (the server's per-request cost), and the same bytes through the strict
// JSON decoder alone.
func BenchmarkDecodeReply(b *testing.B) {
	res := domain.Result{TaskID: "0193f1a2-5b6c-7d8e-9f01-23456789abcd", Value: "GIFT-9f0123456789abcdef"}
	m, err := EncodeReply(res, "results.0193f1a2")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("decode_reply", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeReply(m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("strict_json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var rm replyMessage
			if err := strictUnmarshal(m.Value, &rm); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkEncode encodes a task as a server sends it and a reply as a
// worker sends it (each side's per-request cost).
func BenchmarkEncode(b *testing.B) {
	task := domain.Task{ID: "0193f1a2-5b6c-7d8e-9f01-23456789abcd", Kind: domain.KindGiftCode, RequestID: "0193f1a2-5b6c-7d8e-9f01-23456789abce"}
	b.Run("task", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := EncodeTask(task, "tasks", "results.0193f1a2"); err != nil {
				b.Fatal(err)
			}
		}
	})
	res := domain.Result{TaskID: task.ID, Value: "GIFT-ABCD-EFGH-1234"}
	b.Run("reply", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := EncodeReply(res, "results.0193f1a2"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
