package access

import "github.com/copnet/copnet/pkg/events"

// ApplyForTest adds a revocation to set as the bus handler would after its table write.
func ApplyForTest(set *Revocations, ev events.AccessRevoked) { set.add(ev) }
