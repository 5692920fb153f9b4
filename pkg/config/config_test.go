package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/config"
)

type serviceConfig struct {
	config.Base
	Window time.Duration `envconfig:"TEST_WINDOW" default:"168h"`
	Limit  int           `envconfig:"TEST_LIMIT" required:"true"`
	Name   string        `envconfig:"TEST_NAME" required:"true"`
}

func TestLoadReportsEveryProblemAtOnce(t *testing.T) {
	t.Setenv("TEST_WINDOW", "a week")
	t.Setenv("COPNET_NODE_TIER", "galactic")
	var c serviceConfig
	err := config.Load(&c)
	if err == nil {
		t.Fatal("Load accepted a broken environment")
	}
	for _, want := range []string{"TEST_WINDOW", "TEST_LIMIT is required", "TEST_NAME is required"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
}

func TestLoadFillsDefaultsAndValidates(t *testing.T) {
	t.Setenv("TEST_LIMIT", "3")
	t.Setenv("TEST_NAME", "x")
	var c serviceConfig
	if err := config.Load(&c); err != nil {
		t.Fatal(err)
	}
	if c.NodeID != "national" || c.HTTPAddr != "127.0.0.1:8080" || c.Window != 168*time.Hour || c.Limit != 3 {
		t.Fatalf("unexpected config %+v", c)
	}
	t.Setenv("COPNET_NODE_ID", "Vic.North")
	t.Setenv("COPNET_NODE_TIER", "galactic")
	err := config.Load(&serviceConfig{})
	if err == nil || !strings.Contains(err.Error(), "COPNET_NODE_ID") || !strings.Contains(err.Error(), "COPNET_NODE_TIER") {
		t.Fatalf("want both node problems reported, got %v", err)
	}
}

func TestVarsListsRequired(t *testing.T) {
	v := config.Vars(serviceConfig{})
	if !v["TEST_LIMIT"] || v["TEST_WINDOW"] || v["DATABASE_URL"] {
		t.Fatalf("wrong required set: %v", v)
	}
	if _, ok := v["COPNET_NODE_ID"]; !ok {
		t.Fatal("embedded Base vars missing")
	}
}

// COPNET_PUBLIC_URL is the base of links people follow, so it must be an absolute http(s)
// URL without query or fragment.
func TestPublicURLMustBeAnHTTPBase(t *testing.T) {
	for url, ok := range map[string]bool{"": true, "https://cop.example.org": true, "http://127.0.0.1:8080/copnet": true,
		"cop.example.org": false, "ftp://cop.example.org": false, "https://": false, "https://x.org/?a=b": false, "https://x.org/#f": false} {
		err := config.Base{NodeID: "national", NodeTier: "national", StreamMaxAge: time.Hour, PublicURL: url}.Validate()
		if got := err == nil || !strings.Contains(err.Error(), "COPNET_PUBLIC_URL"); got != ok {
			t.Errorf("COPNET_PUBLIC_URL %q: valid = %v, want %v (%v)", url, got, ok, err)
		}
	}
}
