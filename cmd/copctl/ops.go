package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/copnet/copnet/pkg/bus"
)

// DeadLetter is one event parked in the dead-letter stream, as the node's
// GET /v1/ops/deadletters answers it.
type DeadLetter = bus.DeadLetter

// maxDeadLetters is the most the node lists at once.
const maxDeadLetters = 1000

const dlqHelp = `subcommands:
  dlq list [--limit N] [--output table|json]
      the parked events, oldest first: sequence, time, handler, event, source, deliveries
      and the reason the handler gave.
  dlq replay [--id SEQ ...]
      run dead letters through their handler again, after the cause is fixed: the ones
      named by --id (repeat it, or give SEQ,SEQ), or every dead letter without --id.
      Each result is reported; a replayed dead letter leaves the stream, a failed one
      stays with its error. Exit 1 when any replay failed.`

func cmdDLQ(ctx context.Context, c *Client, args []string, out io.Writer) error {
	if len(args) == 0 {
		return usagef("want a subcommand: list or replay")
	}
	switch args[0] {
	case "list":
		return cmdDLQList(ctx, c, args[1:], out)
	case "replay":
		return cmdDLQReplay(ctx, c, args[1:], out)
	case "-h", "-help", "--help":
		return flagHelp
	}
	return usagef("unknown subcommand %q; want list or replay", args[0])
}

// flagHelp makes run print the command's own help.
var flagHelp = errHelp

const (
	dlqUsage       = "dlq list [--limit N] [--output table|json] | dlq replay [--id SEQ ...]"
	dlqListUsage   = "dlq list [--limit N] [--output table|json]"
	dlqReplayUsage = "dlq replay [--id SEQ ...]"
)

func cmdDLQList(ctx context.Context, c *Client, args []string, out io.Writer) error {
	fs := flags("dlq list")
	limit := fs.Int("limit", 100, "at most this many (1-1000), oldest first")
	output := fs.String("output", "table", "table or json")
	pos, err := parse(fs, args)
	if errors.Is(err, errHelp) {
		return helpRequest{usage: dlqListUsage, help: "list the events parked in the dead-letter stream, oldest first (national token)\n\nflags:\n" + flagDefaults(fs)}
	}
	if err != nil {
		return withUsage(err, dlqListUsage)
	}
	if len(pos) > 0 {
		return usageError{msg: fmt.Sprintf("unexpected argument %q", pos[0]), usage: dlqListUsage}
	}
	if *output != "table" && *output != "json" {
		return usageError{msg: "--output must be table or json", usage: dlqListUsage}
	}
	dls, err := listDeadLetters(ctx, c, *limit)
	if err != nil {
		return err
	}
	if *output == "json" {
		return writeJSON(out, map[string]any{"deadletters": dls})
	}
	if len(dls) == 0 {
		fmt.Fprintln(out, "no dead letters")
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tAT\tHANDLER\tEVENT\tSOURCE\tDELIVERED\tREASON")
	for _, d := range dls {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\n", d.Seq, d.At.UTC().Format(time.RFC3339), d.Handler, d.EventType, d.Source, d.Delivered, oneLine(d.Reason))
	}
	return tw.Flush()
}

func listDeadLetters(ctx context.Context, c *Client, limit int) ([]DeadLetter, error) {
	var res struct {
		DeadLetters []DeadLetter `json:"deadletters"`
	}
	err := c.JSON(ctx, "GET", "/v1/ops/deadletters?limit="+strconv.Itoa(limit), nil, &res)
	return res.DeadLetters, err
}

// ReplayFailed says how many of the replays copctl attempted failed; each was reported.
type ReplayFailed struct{ Failed, Tried int }

func (e *ReplayFailed) Error() string {
	return fmt.Sprintf("%d of %d dead letter(s) could not be replayed; they stay in the dead-letter stream", e.Failed, e.Tried)
}

func cmdDLQReplay(ctx context.Context, c *Client, args []string, out io.Writer) error {
	fs := flags("dlq replay")
	var ids []uint64
	fs.Func("id", "a dead letter's sequence number (repeat, or SEQ,SEQ); without --id, every dead letter", func(s string) error {
		for part := range strings.SplitSeq(s, ",") {
			seq, err := strconv.ParseUint(strings.TrimSpace(part), 10, 64)
			if err != nil || seq == 0 {
				return fmt.Errorf("%q is not a dead-letter sequence number", part)
			}
			ids = append(ids, seq)
		}
		return nil
	})
	pos, err := parse(fs, args)
	if errors.Is(err, errHelp) {
		return helpRequest{usage: dlqReplayUsage, help: "run dead letters through their handler again after the cause is fixed (national token);\n" +
			"reports each result and exits 1 when any replay failed\n\nflags:\n" + flagDefaults(fs)}
	}
	if err != nil {
		return withUsage(err, dlqReplayUsage)
	}
	if len(pos) > 0 {
		return usageError{msg: fmt.Sprintf("unexpected argument %q (name dead letters with --id SEQ)", pos[0]), usage: dlqReplayUsage}
	}
	return replay(ctx, c, ids, out)
}

// cmdReplay is the older `replay SEQ`.
func cmdReplay(ctx context.Context, c *Client, args []string, out io.Writer) error {
	pos, err := parse(flags("replay"), args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one dead-letter sequence number (see copctl dlq list)")
	}
	seq, err := strconv.ParseUint(pos[0], 10, 64)
	if err != nil || seq == 0 {
		return usagef("%q is not a dead-letter sequence number", pos[0])
	}
	if err := c.JSON(ctx, "POST", fmt.Sprintf("/v1/ops/deadletters/%d/replay", seq), nil, nil); err != nil {
		return err
	}
	fmt.Fprintf(out, "dead letter %d replayed\n", seq)
	return nil
}

// replay replays ids, or every dead letter when ids is empty, and reports each result.
func replay(ctx context.Context, c *Client, ids []uint64, out io.Writer) error {
	what := map[uint64]string{}
	if len(ids) == 0 {
		dls, err := listDeadLetters(ctx, c, maxDeadLetters)
		if err != nil {
			return err
		}
		if len(dls) == 0 {
			fmt.Fprintln(out, "no dead letters to replay")
			return nil
		}
		for _, d := range dls {
			ids = append(ids, d.Seq)
			what[d.Seq] = fmt.Sprintf(" (%s, %s)", d.Handler, d.EventType)
		}
		if len(dls) == maxDeadLetters {
			defer fmt.Fprintf(out, "the first %d dead letters were tried; run again for the rest\n", maxDeadLetters)
		}
	}
	failed := 0
	for _, seq := range ids {
		err := c.JSON(ctx, "POST", fmt.Sprintf("/v1/ops/deadletters/%d/replay", seq), nil, nil)
		switch {
		case err == nil:
			fmt.Fprintf(out, "dead letter %d%s: replayed\n", seq, what[seq])
		case StatusOf(err) == 0 || StatusOf(err) == 401 || StatusOf(err) == 403:
			// Unreachable or not allowed: the next ones would fail the same way.
			return err
		default:
			failed++
			fmt.Fprintf(out, "dead letter %d%s: failed: %s\n", seq, what[seq], oneLine(err.Error()))
		}
	}
	if failed > 0 {
		return &ReplayFailed{Failed: failed, Tried: len(ids)}
	}
	return nil
}

func writeJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 160 {
		s = s[:157] + "..."
	}
	return s
}
