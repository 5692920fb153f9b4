package console_test

import (
	"context"
	"strings"
	"testing"
)

// An overlap event replaces that overlap's rows by its id: with many open overlaps in the
// network that must be an index lookup, not a scan per event (a 20,000-project dataset
// brought the console down to 85 events a second before the index).
func TestOverlapRowsAreReplacedThroughAnIndex(t *testing.T) {
	n := startConsole(t)
	pool := n.Pool("console")
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `INSERT INTO overlap_regions (region, overlap_id, score)
		SELECT 'r' || (i % 50), 'o' || i, random() FROM generate_series(1, 20000) i`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `ANALYZE overlap_regions`); err != nil {
		t.Fatal(err)
	}
	var plan []string
	rows, err := pool.Query(ctx, `EXPLAIN DELETE FROM overlap_regions WHERE overlap_id = $1`, "o42")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, line)
	}
	if text := strings.Join(plan, "\n"); strings.Contains(text, "Seq Scan") {
		t.Fatalf("replacing an overlap's rows scans them all:\n%s", text)
	}
}
