package domain

// DetectedHere reports whether this node is the one that reports an overlap between two
// projects, given where each was mapped (its origin node) and its region. Events flow up
// the federation tree, so every ancestor of both origins sees the pair; only the lowest of
// them reports it, or the national console would show one overlap once per tier. A pair
// involving this node's own project is always its to report. Otherwise the tree's shape
// comes from the tiers: a national node's children are regions, so it reports pairs across
// regions; a regional (or local) node's children are local nodes, so it reports pairs
// across them.
func DetectedHere(node, tier, originA, regionA, originB, regionB string) bool {
	if originA == node || originB == node {
		return true
	}
	if tier == "" || tier == "national" {
		return regionA != regionB
	}
	return originA != originB
}
