package correlation_test

import (
	"context"
	"testing"

	"github.com/copnet/copnet/pkg/correlation"
)

func TestIDRoundTrips(t *testing.T) {
	ctx := correlation.With(context.Background(), "abc")
	if got := correlation.ID(ctx); got != "abc" {
		t.Fatalf("ID = %q, want abc", got)
	}
	if got := correlation.ID(context.Background()); got != "" {
		t.Fatalf("ID of a bare context = %q, want empty", got)
	}
	if a, b := correlation.New(), correlation.New(); len(a) != 32 || a == b {
		t.Fatalf("New gave %q and %q: want two distinct 32-digit hex ids", a, b)
	}
}
