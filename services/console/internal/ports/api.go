package ports

import (
	"encoding/csv"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/console/internal/projection"
)

// apiCaller returns the caller of a read API request: national, or a hub (who sees its
// own region only). Coordinators and members have no network view.
func (w *Web) apiCaller(rw http.ResponseWriter, r *http.Request) (httpx.Claims, bool) {
	c, ok := w.whoIs(r)
	err := httpx.Authorize(c.claims, ok && (c.claims.IsNational() || c.claims.Holds(httpx.RoleHub)), "read the network figures")
	if err != nil {
		httpx.WriteProblem(rw, r, err)
		return httpx.Claims{}, false
	}
	return c.claims, true
}

// scoped is the network as c may see it: everything for national; for a hub, its region,
// the overlaps touching it, its gaps and the gaps it could fill, and no federation links
// (those are the national tier's concern).
func (w *Web) scoped(r *http.Request, c httpx.Claims) (*projection.Network, error) {
	if c.IsNational() {
		return w.store.Network(r.Context())
	}
	region, err := scopeRegion(c)
	if err != nil {
		return nil, err
	}
	return w.store.RegionNetwork(r.Context(), region)
}

// scopeRegion is the region c's lists are narrowed to: none for national, else the hub
// officer's region.
func scopeRegion(c httpx.Claims) (string, error) {
	if c.IsNational() {
		return "", nil
	}
	return c.Narrow(httpx.RoleHub, "region", "", "read the network figures")
}

// networkRead serves a JSON read of the network figures to national or a hub: the caller
// check, the problem answer and the JSON answer once for every read route.
func (w *Web) networkRead(read func(r *http.Request, c httpx.Claims) (any, error)) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		c, ok := w.apiCaller(rw, r)
		if !ok {
			return
		}
		body, err := read(r, c)
		if err != nil {
			httpx.WriteProblem(rw, r, err)
			return
		}
		httpx.WriteJSON(rw, http.StatusOK, body)
	}
}

func (w *Web) apiSummary(r *http.Request, c httpx.Claims) (any, error) { return w.scoped(r, c) }

func (w *Web) apiRegion(r *http.Request, c httpx.Claims) (any, error) {
	id := r.PathValue("id")
	if err := checkID("id", id); err != nil {
		return nil, err
	}
	if err := httpx.Authorize(c, c.IsNational() || c.IsHubOf(id), "read region "+id); err != nil {
		return nil, err
	}
	d, err := w.store.Region(r.Context(), id)
	if errors.Is(err, projection.ErrNotFound) {
		return nil, apperr.NotFound("the console has no events about region %q yet", id)
	}
	return d, err
}

func (w *Web) apiOverlaps(r *http.Request, c httpx.Claims) (any, error) {
	region, err := scopeRegion(c)
	if err != nil {
		return nil, err
	}
	overlaps, err := w.store.Overlaps(r.Context(), region)
	return map[string]any{"overlaps": overlaps}, err
}

func (w *Web) apiGaps(r *http.Request, c httpx.Claims) (any, error) {
	region, err := scopeRegion(c)
	if err != nil {
		return nil, err
	}
	gaps, err := w.store.Gaps(r.Context(), region)
	return map[string]any{"gaps": gaps}, err
}

// CSVHeader is the summary report's header row: one row per region follows.
func CSVHeader() []string {
	h := []string{"region", "name", "cops"}
	for _, s := range projection.Statuses {
		h = append(h, "status_"+s)
	}
	for _, s := range projection.Stages {
		h = append(h, "stage_"+s)
	}
	return append(h, "members", "sessions_held_90d", "latest_attendance_rate", "latest_confidence_mean", "declining")
}

// apiSummaryCSV is the summary as a spreadsheet for reports: the same figures, one region
// a row.
func (w *Web) apiSummaryCSV(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.apiCaller(rw, r)
	if !ok {
		return
	}
	n, err := w.scoped(r, c)
	if err != nil {
		httpx.WriteProblem(rw, r, err)
		return
	}
	rw.Header().Set("Content-Type", "text/csv; charset=utf-8")
	rw.Header().Set("Content-Disposition", `attachment; filename="copnet-summary.csv"`)
	rw.Header().Set("X-Content-Type-Options", "nosniff")
	out := csv.NewWriter(rw)
	_ = writeCSV(out, CSVHeader())
	for _, f := range n.Regions {
		row := []string{f.ID, f.Name, strconv.Itoa(f.CoPs)}
		for _, s := range projection.Statuses {
			row = append(row, strconv.Itoa(f.CoPsByStatus[s]))
		}
		for _, s := range projection.Stages {
			row = append(row, strconv.Itoa(f.CoPsByStage[s]))
		}
		row = append(row, strconv.Itoa(f.Members), strconv.Itoa(f.SessionsHeld90d), last(f.AttendanceTrend),
			last(f.ConfidenceTrend), strconv.Itoa(f.Declining))
		_ = writeCSV(out, row)
	}
	out.Flush()
}

// writeCSV writes one row with every cell neutralised (csvCell): every CSV the console
// writes goes through it.
func writeCSV(w *csv.Writer, row []string) error {
	safe := make([]string, len(row))
	for i, c := range row {
		safe[i] = csvCell(c)
	}
	return w.Write(safe)
}

// csvCell keeps a spreadsheet from reading a cell as a formula (CSV injection): a cell
// starting with = + - @, a tab or a carriage return gets a leading single quote, as OWASP
// advises. Region and CoP names come from other people's input; the figures never start
// with those characters, so they are written as they are.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func last(s []float64) string {
	if len(s) == 0 {
		return ""
	}
	return strconv.FormatFloat(s[len(s)-1], 'f', -1, 64)
}
