package node

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/httpx"
)

// registerOps mounts the operator routes for dead letters: list them, and replay one after
// the cause is fixed. Only national operators may touch them.
func registerOps(mux *http.ServeMux, b *bus.Bus) {
	national := httpx.RequireRole(httpx.RoleNational)
	mux.Handle("GET /v1/ops/deadletters", national(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page, err := httpx.Paging(r.URL.Query(), 100, 1000)
		if err != nil {
			httpx.WriteProblem(w, r, err)
			return
		}
		dls, err := b.DeadLetters(r.Context(), page.Limit)
		if err != nil {
			httpx.WriteProblem(w, r, err)
			return
		}
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"deadletters": dls})
	})))
	mux.Handle("POST /v1/ops/deadletters/{seq}/replay", national(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
		if err != nil {
			httpx.WriteProblem(w, r, apperr.Invalid("seq", "must be a dead-letter sequence number"))
			return
		}
		switch err := b.Replay(r.Context(), seq); {
		case errors.Is(err, bus.ErrNoSuchDeadLetter):
			httpx.WriteProblem(w, r, apperr.NotFound("no dead letter %d", seq))
		case err != nil:
			httpx.WriteProblem(w, r, apperr.Conflict("replay failed, the dead letter stays: %s", err.Error()))
		default:
			httpx.WriteJSON(w, http.StatusOK, map[string]any{"replayed": seq})
		}
	})))
}
