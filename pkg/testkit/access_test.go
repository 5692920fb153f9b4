package testkit

import (
	"net/http"
	"testing"
)

// The expectations a table states in one word give every caller one status: the allowed
// their ok, Anonymous 401, the others 403, and an exception wins over both.
func TestExpectGivesEveryCallerOneStatus(t *testing.T) {
	e := Allowed(http.StatusCreated, National, HubOwn).With(MemberNone, http.StatusNotFound)
	for c, want := range map[Caller]int{
		National: http.StatusCreated, HubOwn: http.StatusCreated, HubOther: http.StatusForbidden,
		CoordOwn: http.StatusForbidden, MemberNone: http.StatusNotFound, Anonymous: http.StatusUnauthorized,
	} {
		if got := e.Status(c); got != want {
			t.Errorf("Allowed(201, national, hub).With(member of no CoP, 404) for %s = %d, want %d", c, got, want)
		}
	}
	if got := Everyone(http.StatusOK).Status(Anonymous); got != http.StatusOK {
		t.Errorf("Everyone(200) for anonymous = %d", got)
	}
	if got := Allowed(http.StatusOK).With(Anonymous, http.StatusAccepted).Status(Anonymous); got != http.StatusAccepted {
		t.Errorf("an exception for anonymous = %d, want 202", got)
	}
	// With copies: the expectation it was made from is unchanged.
	base := Allowed(http.StatusOK, National)
	_ = base.With(National, http.StatusTeapot)
	if base.Status(National) != http.StatusOK {
		t.Error("With changed the expectation it was called on")
	}
}

func TestIsProblem(t *testing.T) {
	h := http.Header{"Content-Type": {"application/problem+json"}}
	if err := isProblem(h, []byte(`{"status":403}`), 403); err != nil {
		t.Errorf("a 403 problem: %v", err)
	}
	if isProblem(http.Header{"Content-Type": {"application/json"}}, []byte(`{"status":403}`), 403) == nil {
		t.Error("a JSON body that is not problem+json passed")
	}
	if isProblem(nil, []byte(`{"status":401}`), 403) == nil {
		t.Error("a problem with another status passed")
	}
}
