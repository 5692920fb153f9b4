package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// DeadLetter is one event parked in the dead-letter stream (bus.DeadLetter).
type DeadLetter struct {
	Seq       uint64    `json:"seq"`
	Handler   string    `json:"handler"`
	Reason    string    `json:"reason"`
	Delivered int       `json:"delivered"`
	Subject   string    `json:"subject"`
	EventID   string    `json:"event_id"`
	EventType string    `json:"event_type"`
	Source    string    `json:"source"`
	At        time.Time `json:"at"`
}

func cmdDeadLetters(ctx context.Context, c *Client, args []string, out io.Writer) error {
	fs := flags("deadletters")
	limit := fs.Int("limit", 100, "at most this many (1-1000), oldest first")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	var res struct {
		DeadLetters []DeadLetter `json:"deadletters"`
	}
	if err := c.JSON(ctx, "GET", "/v1/ops/deadletters?limit="+strconv.Itoa(*limit), nil, &res); err != nil {
		return err
	}
	if len(res.DeadLetters) == 0 {
		fmt.Fprintln(out, "no dead letters")
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tAT\tHANDLER\tEVENT\tSOURCE\tDELIVERED\tREASON")
	for _, d := range res.DeadLetters {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\n", d.Seq, d.At.UTC().Format(time.RFC3339), d.Handler, d.EventType, d.Source, d.Delivered, oneLine(d.Reason))
	}
	return tw.Flush()
}

func cmdReplay(ctx context.Context, c *Client, args []string, out io.Writer) error {
	pos, err := parse(flags("replay"), args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one dead-letter sequence number (see copctl deadletters)")
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

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}
