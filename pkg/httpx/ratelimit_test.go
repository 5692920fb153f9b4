package httpx_test

import (
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
)

func TestLimiterRefusesBeyondBurstPerKey(t *testing.T) {
	l := httpx.NewLimiter(time.Hour, 2)
	for i := 0; i < 2; i++ {
		if err := l.Allow("a"); err != nil {
			t.Fatalf("request %d refused: %v", i, err)
		}
	}
	err := l.Allow("a")
	if k, ok := apperr.KindOf(err); !ok || k != apperr.KindTooMany {
		t.Fatalf("third request: want 429 kind, got %v", err)
	}
	if err := l.Allow("b"); err != nil {
		t.Fatalf("another key shares the bucket: %v", err)
	}
}
