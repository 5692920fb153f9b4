package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestHelpOnEveryCommandAndSubcommand(t *testing.T) {
	var helps [][]string
	for name := range commands {
		helps = append(helps, []string{name, "--help"}, []string{name, "-h"}, []string{"help", name})
	}
	helps = append(helps,
		[]string{"dlq", "list", "--help"}, []string{"dlq", "replay", "--help"},
		[]string{"import", "people", "--help"}, []string{"seed", "demo", "--help"})
	for _, args := range helps {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), args, &stdout, &stderr)
		if code != exitOK || !strings.HasPrefix(stdout.String(), "usage: copctl ") || !strings.Contains(stdout.String(), "exit codes:") || stderr.Len() != 0 {
			t.Errorf("%q → exit %d\nstdout %q\nstderr %q", args, code, stdout.String(), stderr.String())
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("--help → %d", code)
	}
	top := stdout.String()
	for _, want := range []string{
		"status", "dlq", "import", "seed", "--nats", "COPNET_NATS_URL",
		"0  done", "1  the node refused, failed or could not be reached", "2  wrong command line",
	} {
		if !strings.Contains(top, want) {
			t.Errorf("copctl --help does not mention %q:\n%s", want, top)
		}
	}
	if strings.Contains(top, "deadletters") {
		t.Errorf("the old names are listed:\n%s", top)
	}
	// Subcommand help names the subcommand's own usage.
	stdout.Reset()
	run(context.Background(), []string{"dlq", "replay", "--help"}, &stdout, &stderr)
	if !strings.Contains(stdout.String(), "dlq replay [--id SEQ ...]") || !strings.Contains(stdout.String(), "-id") {
		t.Errorf("dlq replay --help:\n%s", stdout.String())
	}
	stdout.Reset()
	run(context.Background(), []string{"import", "--help"}, &stdout, &stderr)
	for _, want := range []string{"name,region,scope,purpose,frequency,duration_minutes", "cop_id,title,topics,place,group,starts_on,ends_on", "--progress"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("import --help does not document %q:\n%s", want, stdout.String())
		}
	}
}
