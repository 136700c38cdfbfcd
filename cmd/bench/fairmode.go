package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/fairshare"
	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/report"
	"github.com/1000x-rps-server/rps-server/cmd/bench/internal/target"
)

// fairRecord is what the fair and lone modes write as fair.json.
type fairRecord struct {
	Label    string              `json:"label"`
	Mode     string              `json:"mode"`
	Command  string              `json:"command"`
	Flags    map[string]string   `json:"flags"`
	Machine  report.Machine      `json:"machine"`
	Started  time.Time           `json:"started"`
	Finished time.Time           `json:"finished"`
	Share    *fairshare.Result   `json:"share,omitempty"`
	Lone     *fairshare.ABResult `json:"lone,omitempty"`
}

// runFair runs the fair or lone mode: checks every instance, runs the
// scenario, writes <out>/<label>/{fair.json,fair.md} and prints the table.
func runFair(ctx context.Context, o options, args []string, started time.Time, stdout, stderr io.Writer) error {
	on, err := checkBases(ctx, o.URLs, o.AllowRemote)
	if err != nil {
		return err
	}
	off, err := checkBases(ctx, o.URLsOff, o.AllowRemote)
	if err != nil {
		return err
	}
	rec := fairRecord{
		Label: o.Label, Mode: o.Mode, Command: "bench " + strings.Join(args, " "), Flags: o.Set,
		Machine: report.ThisMachine(), Started: started,
	}
	var table bytes.Buffer
	switch o.Mode {
	case modeFair:
		cfg := fairshare.Config{
			Bases: on, GreedyConns: o.GreedyConns, GreedySource: o.GreedySource,
			Polite: o.Polite, PoliteSource: o.PoliteSource, PaceMin: o.PaceMin, PaceMax: o.PaceMax,
			Warmup: o.Warmup, Duration: o.Duration, MaxRequests: o.MaxRequests, Timeout: o.Timeout, SampleEvery: o.SampleEvery,
			AllowRemote: o.AllowRemote,
		}
		if o.RedisURL != "" {
			if cfg.Redis, err = fairshare.ParseRedisURL(o.RedisURL, o.GateKey); err != nil {
				return err
			}
		}
		_, _ = fmt.Fprintf(stderr, "bench %s: 1 greedy client (%d connections from %s) and %d polite (from %s on, one request each every %s–%s) → %s; warm-up %s + %s\n",
			o.Label, o.GreedyConns, o.GreedySource, o.Polite, o.PoliteSource, o.PaceMin, o.PaceMax, strings.Join(on, " "), o.Warmup, o.Duration)
		res, err := fairshare.Run(ctx, cfg)
		if err != nil {
			return err
		}
		rec.Share = &res
		err = fairshare.WriteTable(&table, res)
		if err != nil {
			return err
		}
	case modeLone:
		cfg := fairshare.ABConfig{
			On: on, Off: off, Conns: o.Users, Source: o.GreedySource, Slices: o.Slices,
			Warmup: o.Warmup, Duration: o.Duration, MaxRequests: o.MaxRequests, Timeout: o.Timeout, AllowRemote: o.AllowRemote,
		}
		_, _ = fmt.Fprintf(stderr, "bench %s: 1 client, %d connections from %s, fair share on (%s) against off (%s), %d slices each; warm-up %s + %s per side\n",
			o.Label, o.Users, o.GreedySource, strings.Join(on, " "), strings.Join(off, " "), o.Slices, o.Warmup, o.Duration)
		res, err := fairshare.RunAB(ctx, cfg)
		if err != nil {
			return err
		}
		rec.Lone = &res
		if err := fairshare.WriteABTable(&table, res); err != nil {
			return err
		}
	}
	rec.Finished = time.Now()
	dir := filepath.Join(o.Out, o.Label)
	if err := writeFairRecord(dir, rec, table.Bytes()); err != nil {
		return err
	}
	_, _ = fmt.Fprintf(stdout, "\n%s (%s)\n%s", o.Label, o.Mode, table.String())
	_, _ = fmt.Fprintf(stdout, "results: %s/{fair.json,fair.md}\n", dir)
	if ctx.Err() != nil {
		return errInterrupted
	}
	return nil
}

// checkBases checks each base URL as -url is checked and that something
// answers there.
func checkBases(ctx context.Context, raws []string, allowRemote bool) ([]string, error) {
	out := make([]string, 0, len(raws))
	for _, raw := range raws {
		u, err := target.Check(ctx, raw, allowRemote, net.DefaultResolver)
		if err != nil {
			return nil, err
		}
		if err := preflight(ctx, u.String(), allowRemote); err != nil {
			return nil, err
		}
		out = append(out, u.String())
	}
	return out, nil
}

func writeFairRecord(dir string, rec fairRecord, table []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("results folder: %w", err)
	}
	js, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return fmt.Errorf("fair.json: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "fair.json"), append(js, '\n'), 0o644); err != nil {
		return fmt.Errorf("fair.json: %w", err)
	}
	md := fmt.Sprintf("%s\n\n%s", rec.Command, table)
	if err := os.WriteFile(filepath.Join(dir, "fair.md"), []byte(md), 0o644); err != nil {
		return fmt.Errorf("fair.md: %w", err)
	}
	return nil
}
