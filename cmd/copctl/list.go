package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
)

// Region is a region as the registry lists it.
type Region struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// CoP is a CoP as the registry shows it (the fields copctl uses).
type CoP struct {
	ID             string   `json:"id"`
	Name           string   `json:"name"`
	Region         string   `json:"region"`
	Scope          string   `json:"scope"`
	Status         string   `json:"status"`
	Stage          string   `json:"stage"`
	Topics         []string `json:"topics"`
	CharterVersion int      `json:"charter_version"`
}

func listRegions(ctx context.Context, c *Client) ([]Region, error) {
	var res struct {
		Regions []Region `json:"regions"`
	}
	return res.Regions, c.JSON(ctx, "GET", "/v1/regions", nil, &res)
}

// listCoPs follows the registry's cursor to the end.
func listCoPs(ctx context.Context, c *Client, q url.Values) ([]CoP, error) {
	var all []CoP
	q.Set("limit", "500")
	for {
		var page struct {
			CoPs       []CoP  `json:"cops"`
			NextCursor string `json:"next_cursor"`
		}
		if err := c.JSON(ctx, "GET", "/v1/cops?"+q.Encode(), nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.CoPs...)
		if page.NextCursor == "" || len(page.CoPs) == 0 {
			return all, nil
		}
		q.Set("cursor", page.NextCursor)
	}
}

func cmdRegions(ctx context.Context, c *Client, args []string, out io.Writer) error {
	if _, err := noArgs("regions", args); err != nil {
		return err
	}
	regs, err := listRegions(ctx, c)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME")
	for _, r := range regs {
		fmt.Fprintf(tw, "%s\t%s\n", r.ID, r.Name)
	}
	return tw.Flush()
}

func cmdCoPs(ctx context.Context, c *Client, args []string, out io.Writer) error {
	fs := flags("cops")
	region := fs.String("region", "", "only this region's CoPs")
	status := fs.String("status", "", "only CoPs in this status (proposed, approved, declined, active, dormant, retired)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	q := url.Values{}
	if *region != "" {
		q.Set("region", *region)
	}
	if *status != "" {
		q.Set("status", *status)
	}
	cops, err := listCoPs(ctx, c, q)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tREGION\tSTATUS\tSTAGE\tCHARTER\tNAME\tTOPICS")
	for _, cop := range cops {
		charter := "-"
		if cop.CharterVersion > 0 {
			charter = fmt.Sprintf("v%d", cop.CharterVersion)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", cop.ID, cop.Region, cop.Status, cop.Stage, charter, cop.Name, strings.Join(cop.Topics, ","))
	}
	return tw.Flush()
}

// noArgs parses a command that takes no arguments (only --help).
func noArgs(name string, args []string) ([]string, error) {
	pos, err := parse(flags(name), args)
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, usagef("unexpected argument %q", pos[0])
	}
	return pos, nil
}
