package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/copnet/copnet/services/federation"
)

// Child is a child node registered at this node, and Link the health of one child's link,
// as the federation service answers them.
type (
	Child = federation.Child
	Link  = federation.Link
)

func cmdNodes(ctx context.Context, c *Client, args []string, out io.Writer) error {
	if _, err := noArgs("nodes", args); err != nil {
		return err
	}
	var res struct {
		Node     string  `json:"node"`
		Tier     string  `json:"tier"`
		Children []Child `json:"children"`
	}
	if err := c.JSON(ctx, "GET", "/v1/nodes", nil, &res); err != nil {
		return err
	}
	fmt.Fprintf(out, "node %s (%s), %d child node(s)\n", res.Node, res.Tier, len(res.Children))
	if len(res.Children) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTIER\tPARENT\tREGISTERED")
	for _, ch := range res.Children {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", ch.ID, ch.Tier, ch.Parent, ch.CreatedAt.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

func cmdFederation(ctx context.Context, c *Client, args []string, out io.Writer) error {
	if _, err := noArgs("federation", args); err != nil {
		return err
	}
	var res struct {
		Node  string `json:"node"`
		Tier  string `json:"tier"`
		Links []Link `json:"links"`
	}
	if err := c.JSON(ctx, "GET", "/v1/federation", nil, &res); err != nil {
		return err
	}
	fmt.Fprintf(out, "node %s (%s), %d link(s)\n", res.Node, res.Tier, len(res.Links))
	if len(res.Links) == 0 {
		return nil
	}
	return writeLinks(out, res.Links)
}

func writeLinks(out io.Writer, links []Link) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHILD\tSTATE\tLAG MSGS\tLAG SECS\tSOURCED/LAST\tLAST EVENT\tERROR")
	for _, l := range links {
		state := "down"
		switch {
		case l.Up && l.Stalled:
			state = "stalled"
		case l.Up:
			state = "up"
		}
		last := "-"
		if l.LastEventAt != nil {
			last = l.LastEventAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.0f\t%d/%d\t%s\t%s\n", l.Child, state, l.LagMessages, l.LagSeconds, l.SourcedSeq, l.ChildLastSeq, last, oneLine(l.Error))
	}
	return tw.Flush()
}
