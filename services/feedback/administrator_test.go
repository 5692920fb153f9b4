package feedback_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/testkit"
)

// TestAdministratorCannotPairBallotsWithAnswers plays a database administrator (issue 13)
// who wants to know who answered what. Over 20 rounds (members' word polls and session
// evaluations), six members each take a ballot and answer at once with a unique random
// marker word, in an order the test knows. The administrator reads everything PostgreSQL
// holds: every feedback table with xmin and ctid, every page of every table and its TOAST
// table with pageinspect (live and dead tuples), and the raw WAL bytes of the run plus
// pg_walinspect's record list. The test asserts:
//
//	(a) before close, no marker is in any tuple or in the WAL;
//	(b) after close, every tuple holding a poll's markers has one xmin, later than every
//	    issuance of that poll;
//	(c) pairing the i-th issuance with the i-th answer by any order the administrator can
//	    see (xmin then ctid, ctid, oldest xmin of live or dead tuples, first WAL offset,
//	    WAL insert records) is right no more often than chance.
//
// The administrator is given the true issuance order (as if HTTP logs or xmin of
// ballots_issued told them who took a ballot when): the strongest attacker. Under a
// uniformly random permutation of 6 the number of right pairings per round has mean 1 and
// variance 1; the test fails a strategy at 50 right pairings over 20 rounds (2.5× the
// expected 20). The exact probability that a fair shuffle reaches 50 is 1.2e-8 per
// strategy, below 1e-7 for the five: the test does not flake. Before sealed answers, the
// first WAL offset and the dead tuples' xmin paired 120 of 120, and (a) and (b) failed.
func TestAdministratorCannotPairBallotsWithAnswers(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: twenty rounds of polls for five pairing strategies")
	}
	e := start(t, nil)
	ctx := context.Background()
	admin, err := pgxpool.New(ctx, e.n.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(admin.Close)
	for _, ext := range []string{"pageinspect", "pg_walinspect"} {
		if _, err := admin.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS "+ext+" SCHEMA public"); err != nil {
			t.Fatalf("%s: %v", ext, err)
		}
	}
	// A temporary replication slot keeps the run's WAL from being recycled by a
	// checkpoint before it is read; it goes with this connection.
	slotConn, err := admin.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(slotConn.Release)
	slot := "feedback_admin_" + randomWord(8)
	if _, err := slotConn.Exec(ctx, `SELECT pg_create_physical_replication_slot($1, true, true)`, slot); err != nil {
		t.Fatal(err)
	}
	var walStart int64
	if err := admin.QueryRow(ctx, `SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::bigint`).Scan(&walStart); err != nil {
		t.Fatal(err)
	}

	e.approve("cop-a", "vic")
	members := persons("dba", 6)
	e.join("cop-a", "vic", members...)

	const rounds = 20
	type round struct {
		poll    string
		markers []string // markers[i] is the answer of the i-th member to take a ballot
	}
	var rs []round
	for r := range rounds {
		var pollID string
		evaluation := r%4 == 3
		if evaluation {
			session := fmt.Sprintf("sess-dba-%02d", r)
			e.n.Publish(t, events.SessionHeld{SessionID: session, CoPID: "cop-a", ProgramID: "prog", Number: r, HeldAt: e.clock.Now(), Topics: []string{}})
			var eval struct {
				Poll poll `json:"poll"`
			}
			testkit.Eventually(t, waitFor, func() error {
				if s, _ := e.call(e.national(), "GET", "/v1/sessions/"+session+"/evaluation", nil); s != http.StatusOK {
					return fmt.Errorf("evaluation: %d", s)
				}
				return nil
			})
			e.must(http.StatusOK, &eval, e.national(), "GET", "/v1/sessions/"+session+"/evaluation", nil)
			pollID = eval.Poll.ID
		} else {
			pollID = e.createPoll(map[string]any{"cop_id": "cop-a", "kind": "words", "question": "One word?", "min_responses": 3}).ID
		}
		order := shuffled(members)
		rd := round{poll: pollID}
		for _, m := range order {
			marker := "zq" + randomWord(10)
			var answer any = marker
			if evaluation {
				answer = map[string]any{"confidence": 3, "usefulness": 4, "takeaway": marker}
			}
			e.vote(pollID, m, answer)
			rd.markers = append(rd.markers, marker)
		}
		rs = append(rs, rd)
	}
	var all [][]byte
	for _, rd := range rs {
		for _, m := range rd.markers {
			all = append(all, []byte(m))
		}
	}

	// (a) Before close: no marker anywhere.
	for _, tu := range readTuples(t, admin) {
		for _, m := range all {
			if bytes.Contains(tu.data, m) {
				t.Errorf("before close, %s (%s, xmin %d) holds answer %q in plaintext", tu.table, tu.ctid, tu.xmin, m)
			}
		}
	}
	wal := readWAL(t, admin, walStart)
	for _, m := range all {
		if i := bytes.Index(wal, m); i >= 0 {
			t.Errorf("before close, the WAL holds answer %q at +%d", m, i)
		}
	}

	for _, rd := range rs {
		e.must(http.StatusOK, nil, e.national(), "POST", "/v1/polls/"+rd.poll+"/close", nil)
	}
	tuples := readTuples(t, admin)
	wal = readWAL(t, admin, walStart)
	records := walInserts(t, admin, walStart, "feedback.responses")

	// Where each marker is, as the administrator sees it.
	type seen struct {
		xmin     int64
		oldest   int64 // the earliest xmin of any tuple, live or dead, holding the answer
		ctid     [2]int64
		walFirst int
		walRec   int
	}
	at := map[string]*seen{}
	for _, m := range all {
		at[string(m)] = &seen{walFirst: bytes.Index(wal, m), walRec: -1}
	}
	for _, tu := range tuples {
		for _, m := range all {
			if !bytes.Contains(tu.data, m) {
				continue
			}
			if tu.table != "feedback.responses" {
				t.Errorf("after close, %s (%s) holds answer %q", tu.table, tu.ctid, m)
				continue
			}
			s := at[string(m)]
			if s.xmin != 0 && s.xmin != tu.xmin {
				t.Errorf("answer %q is in tuples of two transactions (%d, %d)", m, s.xmin, tu.xmin)
			}
			if s.oldest == 0 || tu.xmin < s.oldest {
				s.oldest = tu.xmin
			}
			s.xmin, s.ctid = tu.xmin, tu.ctidPair()
		}
	}
	for i, rec := range records {
		for _, s := range at {
			if s.ctid == rec {
				s.walRec = i
			}
		}
	}

	// (b) One xmin per poll for every answer, later than every issuance of the poll.
	for _, rd := range rs {
		var issuedMax int64
		if err := admin.QueryRow(ctx, `SELECT coalesce(max(xmin::text::bigint), 0) FROM feedback.ballots_issued WHERE poll_id = $1`, rd.poll).Scan(&issuedMax); err != nil {
			t.Fatal(err)
		}
		xmins := map[int64]bool{}
		for _, m := range rd.markers {
			s := at[m]
			if s.xmin == 0 {
				t.Fatalf("answer %q is in no tuple after close", m)
			}
			xmins[s.xmin] = true
			if s.xmin <= issuedMax {
				t.Errorf("answer %q (xmin %d) was written before the poll's last issuance (xmin %d)", m, s.xmin, issuedMax)
			}
		}
		if len(xmins) != 1 {
			t.Errorf("poll %s: its answers carry %d xmins, want 1", rd.poll, len(xmins))
		}
	}

	// (c) Pair the i-th issuance with the i-th answer in each order the administrator sees.
	strategies := []struct {
		name string
		less func(a, b *seen) int
	}{
		{"xmin, then ctid", func(a, b *seen) int {
			if a.xmin != b.xmin {
				return cmpInt(a.xmin, b.xmin)
			}
			return cmpCtid(a.ctid, b.ctid)
		}},
		{"ctid", func(a, b *seen) int { return cmpCtid(a.ctid, b.ctid) }},
		{"oldest xmin of live or dead tuples", func(a, b *seen) int { return cmpInt(a.oldest, b.oldest) }},
		{"first WAL offset", func(a, b *seen) int { return cmpInt(int64(a.walFirst), int64(b.walFirst)) }},
		{"pg_walinspect insert records", func(a, b *seen) int { return cmpInt(int64(a.walRec), int64(b.walRec)) }},
	}
	for _, st := range strategies {
		right := 0
		for _, rd := range rs {
			// Ties keep the markers' alphabetical order, which is random: starting from
			// the issuance order would hand the attacker the answer on a tie.
			guess := slices.Sorted(slices.Values(rd.markers))
			slices.SortStableFunc(guess, func(a, b string) int { return st.less(at[a], at[b]) })
			for i := range guess {
				if guess[i] == rd.markers[i] {
					right++
				}
			}
		}
		t.Logf("pairing issuance with answers by %s: %d right of %d (chance: %d)", st.name, right, rounds*len(members), rounds)
		if right >= 50 {
			t.Errorf("by %s the administrator paired %d of %d, chance is %d", st.name, right, rounds*len(members), rounds)
		}
	}
	for m, s := range at {
		if s.walFirst < 0 || s.walRec < 0 {
			// A marker split by a WAL page header is not found as one run of bytes; it
			// then simply sorts first, which helps no pairing.
			t.Logf("answer %q: WAL offset %d, WAL record %d", m, s.walFirst, s.walRec)
		}
	}
}

// tuple is one heap tuple, live or dead, as pageinspect shows it.
type tuple struct {
	table string
	page  int64
	lp    int64
	ctid  string
	xmin  int64
	data  []byte
}

func (t tuple) ctidPair() [2]int64 { return [2]int64{t.page, t.lp} }

// readTuples reads every page of every feedback table and of its TOAST table.
func readTuples(t *testing.T, admin *pgxpool.Pool) []tuple {
	t.Helper()
	ctx := context.Background()
	rows, err := admin.Query(ctx, `SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'feedback' AND c.relkind = 'r'
		UNION SELECT t.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_class t ON t.oid = c.reltoastrelid WHERE n.nspname = 'feedback' AND c.relkind = 'r'`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	var out []tuple
	for _, table := range tables {
		var pages int64
		if err := admin.QueryRow(ctx, `SELECT pg_relation_size($1::regclass) / current_setting('block_size')::int`, table).Scan(&pages); err != nil {
			t.Fatal(err)
		}
		for page := range pages {
			rows, err := admin.Query(ctx, `SELECT lp, coalesce(t_xmin::text::bigint, 0), coalesce(t_data, ''::bytea)
				FROM heap_page_items(get_raw_page($1, $2::int))`, table, page)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				tu := tuple{table: table, page: page}
				if err := rows.Scan(&tu.lp, &tu.xmin, &tu.data); err != nil {
					t.Fatal(err)
				}
				tu.ctid = fmt.Sprintf("(%d,%d)", page, tu.lp)
				out = append(out, tu)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	return out
}

// readWAL returns the raw WAL bytes from start to the flushed end, from the segment files.
func readWAL(t *testing.T, admin *pgxpool.Pool, start int64) []byte {
	t.Helper()
	ctx := context.Background()
	var end, seg int64
	if err := admin.QueryRow(ctx, `SELECT pg_wal_lsn_diff(pg_current_wal_flush_lsn(), '0/0')::bigint,
		(SELECT setting::bigint FROM pg_settings WHERE name = 'wal_segment_size')`).Scan(&end, &seg); err != nil {
		t.Fatal(err)
	}
	var out []byte
	for pos := start; pos < end; {
		n := min(end, pos-pos%seg+seg) - pos
		var chunk []byte
		// pg_walfile_name names the segment holding the byte before an LSN.
		if err := admin.QueryRow(ctx, `SELECT pg_read_binary_file('pg_wal/' || pg_walfile_name($1::pg_lsn), $2, $3)`,
			lsn(pos+1), pos%seg, n).Scan(&chunk); err != nil {
			t.Fatal(err)
		}
		out = append(out, chunk...)
		pos += n
	}
	return out
}

var (
	offRe = regexp.MustCompile(`off (\d+)`)
	blkRe = regexp.MustCompile(`blk (\d+)`)
)

// walInserts lists, in WAL order, the (block, offset) each heap insert into table wrote
// since start, from pg_walinspect.
func walInserts(t *testing.T, admin *pgxpool.Pool, start int64, table string) [][2]int64 {
	t.Helper()
	ctx := context.Background()
	var node string
	if err := admin.QueryRow(ctx, `SELECT pg_relation_filenode($1::regclass)::text`, table).Scan(&node); err != nil {
		t.Fatal(err)
	}
	rows, err := admin.Query(ctx, `SELECT description, block_ref FROM pg_get_wal_records_info($1::pg_lsn, pg_current_wal_flush_lsn())
		WHERE resource_manager = 'Heap' AND record_type LIKE 'INSERT%' AND block_ref LIKE '%/' || $2 || ' fork main blk %'
		ORDER BY start_lsn`, lsn(start), node)
	if err != nil {
		t.Fatal(err)
	}
	var out [][2]int64
	for rows.Next() {
		var desc, ref string
		if err := rows.Scan(&desc, &ref); err != nil {
			t.Fatal(err)
		}
		off, blk := offRe.FindStringSubmatch(desc), blkRe.FindStringSubmatch(ref)
		if off == nil || blk == nil {
			continue
		}
		b, _ := strconv.ParseInt(blk[1], 10, 64)
		o, _ := strconv.ParseInt(off[1], 10, 64)
		out = append(out, [2]int64{b, o})
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func lsn(pos int64) string { return fmt.Sprintf("%X/%X", pos>>32, pos&0xffffffff) }

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpCtid(a, b [2]int64) int {
	if c := cmpInt(a[0], b[0]); c != 0 {
		return c
	}
	return cmpInt(a[1], b[1])
}

// randomWord is n random lower-case letters: markers no table, log or WAL holds by chance.
func randomWord(n int) string {
	b := make([]byte, n)
	for i := range b {
		k, _ := rand.Int(rand.Reader, big.NewInt(26))
		b[i] = byte('a' + k.Int64())
	}
	return string(b)
}

// shuffled returns xs in a random order.
func shuffled(xs []string) []string {
	out := slices.Clone(xs)
	for i := len(out) - 1; i > 0; i-- {
		k, _ := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		j := int(k.Int64())
		out[i], out[j] = out[j], out[i]
	}
	return out
}
