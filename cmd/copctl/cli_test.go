package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/registry"
)

func TestProblemsPrintStatusTitleDetailAndFields(t *testing.T) {
	e := start(t, registry.Factory)
	// A hub asking for another region's CoPs.
	code, stdout, stderr := e.cli(e.hub("vic"), "cops", "--region", "wa")
	if code != exitFail || stdout != "" || stderr != "403 Forbidden: your grants do not let you list CoPs of wa\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	// No token at all.
	if code, _, stderr := e.cli("", "regions"); code != exitFail || !strings.HasPrefix(stderr, "401 Unauthorized: ") {
		t.Errorf("no token → exit %d, %q", code, stderr)
	}
	// Field errors come one per line under the problem.
	err := e.client(e.national()).JSON(context.Background(), "POST", "/v1/regions", map[string]string{"id": "Bad Id!"}, nil)
	var out bytes.Buffer
	printError(&out, err)
	want := "400 Bad Request: invalid input: id must be 1-64 lower-case letters, digits, '-' or '_'; name is required (at most 200 characters)\n" +
		"  - id: must be 1-64 lower-case letters, digits, '-' or '_'\n" +
		"  - name: is required (at most 200 characters)\n"
	if out.String() != want {
		t.Errorf("printed\n%s\nwant\n%s", out.String(), want)
	}
	// An answer that is not a problem document still prints as one.
	code, _, stderr = e.cli(e.national(), "--url", e.n.URL+"/nothing-here", "regions")
	if code != exitFail || !strings.HasPrefix(stderr, "404 Not Found: ") {
		t.Errorf("plain 404 → exit %d, %q", code, stderr)
	}
}

func TestUsageErrorsExitTwo(t *testing.T) {
	var stdout, stderr bytes.Buffer
	for _, args := range [][]string{{}, {"frobnicate"}, {"--nope"}, {"replay"}, {"replay", "abc"}, {"cops", "extra"}, {"regions", "x"},
		{"dlq"}, {"dlq", "purge"}, {"dlq", "replay", "7"}, {"dlq", "replay", "--id", "x"}, {"dlq", "list", "--output", "xml"},
		{"import"}, {"import", "widgets", "a.csv"}, {"import", "people"}, {"import", "people", "--cop", "c1", "a.csv"},
		{"status", "now"}, {"status", "--output", "yaml"}, {"help", "frobnicate"}} {
		stdout.Reset()
		stderr.Reset()
		if code := run(context.Background(), args, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "usage: copctl") {
			t.Errorf("%q → exit %d, stderr %q", args, code, stderr.String())
		}
	}
	for _, args := range [][]string{{"help"}, {"--help"}, {"help", "import"}, {"import", "--help"}, {"version"}} {
		stdout.Reset()
		if code := run(context.Background(), args, &stdout, &stderr); code != exitOK || stdout.Len() == 0 {
			t.Errorf("%q → exit %d, stdout %q", args, code, stdout.String())
		}
	}
	if code := run(context.Background(), []string{"--url", "http://127.0.0.1:1", "regions"}, &stdout, &stderr); code != exitFail {
		t.Errorf("unreachable node → exit %d", code)
	}
}

func TestListsOpsAndFederation(t *testing.T) {
	e := start(t, registry.Factory)
	e.approvedCoP("vic", "Youth mental health")
	e.approvedCoP("wa", "Consumer engagement")

	out, err := e.call(e.national(), cmdRegions)
	if err != nil || !strings.Contains(out, "ID   NAME\nvic  vic\nwa   wa\n") {
		t.Errorf("regions: %v\n%s", err, out)
	}
	out, err = e.call(e.hub("vic"), cmdCoPs)
	if err != nil || strings.Count(out, "\n") != 2 || !strings.Contains(out, "Youth mental health") || !strings.Contains(out, "approved") {
		t.Errorf("cops as hub of vic: %v\n%s", err, out)
	}
	out, err = e.call(e.national(), cmdCoPs, "--region", "wa")
	if err != nil || !strings.Contains(out, "Consumer engagement") || strings.Contains(out, "Youth") {
		t.Errorf("cops --region wa: %v\n%s", err, out)
	}

	out, err = e.call(e.national(), cmdDLQ, "list")
	if err != nil || out != "no dead letters\n" {
		t.Errorf("deadletters: %v %q", err, out)
	}
	if _, err := e.call(e.hub("vic"), cmdDLQ, "list"); StatusOf(err) != http.StatusForbidden {
		t.Errorf("deadletters as hub: %v", err)
	}
	if _, err := e.call(e.national(), cmdReplay, "424242"); StatusOf(err) != http.StatusNotFound || !strings.Contains(err.Error(), "no dead letter 424242") {
		t.Errorf("replay of nothing: %v", err)
	}

	out, err = e.call(e.national(), cmdNodes)
	if err != nil || !strings.HasPrefix(out, "node national (national), 0 child node(s)") {
		t.Errorf("nodes: %v %q", err, out)
	}
	testkit.Eventually(t, waitFor, func() error {
		out, err := e.call(e.national(), cmdFederation)
		if err != nil || !strings.HasPrefix(out, "node national (national), 0 link(s)") {
			return fmt.Errorf("federation: %v %q", err, out)
		}
		return nil
	})
}
