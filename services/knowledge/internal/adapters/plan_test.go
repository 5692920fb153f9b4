package adapters_test

import (
	"context"
	"strings"
	"testing"

	"github.com/copnet/copnet/pkg/postgres"
	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/knowledge/internal/adapters"
	"github.com/copnet/copnet/services/knowledge/migrations"
)

// TestOverlapCandidatesUseIndexes fills the map with a few thousand projects spread over
// places, groups, topics and two years, and checks that finding one project's overlap
// candidates reads indexes, never the whole projects or communities table. The planner
// is left to its own judgement (no enable_seqscan=off): the point is that, with realistic
// statistics, it has an index it prefers.
func TestOverlapCandidatesUseIndexes(t *testing.T) {
	ctx := context.Background()
	pool, err := postgres.Open(ctx, testkit.PostgresURL(t), "knowledge")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := postgres.Migrate(ctx, pool, migrations.FS); err != nil {
		t.Fatal(err)
	}
	const n = 5000
	for _, q := range []string{
		`INSERT INTO projects (id, cop_id, region, title, organisation, topics, methods, starts_on, ends_on, origin, created_at)
		SELECT 'p' || i, 'cop' || (i % 200), 'r' || (i % 8), 'Project ' || i, 'org' || (i % 50),
			ARRAY['topic' || (i % 300), 'topic' || ((i * 7) % 300)], '{}',
			date '2025-01-01' + (i % 700), date '2025-01-01' + (i % 700) + 20, 'national', now()
		FROM generate_series(1, $1) i`,
		`INSERT INTO project_communities (project_id, place, grp, ancestors, during)
		SELECT p.id, 'au.s' || (i % 8) || '.l' || (i % 400), 'group' || (i % 40),
			ARRAY['au', 'au.s' || (i % 8), 'au.s' || (i % 8) || '.l' || (i % 400)], p.during
		FROM generate_series(1, $1) i JOIN projects p ON p.id = 'p' || i`,
	} {
		if _, err := pool.Exec(ctx, q, n); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, "ANALYZE projects; ANALYZE project_communities"); err != nil {
		t.Fatal(err)
	}
	rows, err := pool.Query(ctx, "EXPLAIN "+adapters.CandidatesSQL, "p1234", 30)
	if err != nil {
		t.Fatal(err)
	}
	var plan []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	text := strings.Join(plan, "\n")
	for _, table := range []string{"projects", "project_communities"} {
		if strings.Contains(text, "Seq Scan on "+table) {
			t.Errorf("the overlap candidates query scans all of %s:\n%s", table, text)
		}
	}
	// Which of the community indexes combine is the planner's choice; the window's GiST
	// index is the one that keeps "near in time" from reading every engagement ever mapped.
	if !strings.Contains(text, "communities_during") {
		t.Errorf("the plan does not use the GiST index on the window:\n%s", text)
	}
}
