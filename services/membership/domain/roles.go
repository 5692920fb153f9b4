package domain

import (
	"fmt"
	"slices"
)

// Role is a part a member plays in a CoP beyond being a member.
type Role string

// Roles. Every member is a member; the working group sustains the CoP and decides removals;
// the coordinator is appointed by consent for a year.
const (
	RoleWorkingGroup Role = "working_group"
	RoleCoordinator  Role = "coordinator"
)

// ChangeRoles works out what setting a member's roles from current to wanted assigns and
// revokes. The coordinator role is only ever given by consent (an appointment), so asking
// for it here is refused; giving it up is allowed.
func ChangeRoles(current, wanted []Role) (assigned, revoked []Role, err error) {
	for _, r := range wanted {
		switch r {
		case RoleWorkingGroup:
		case RoleCoordinator:
			if !slices.Contains(current, RoleCoordinator) {
				return nil, nil, fmt.Errorf("coordinator is appointed by consent (POST /v1/cops/{id}/coordinator-appointments), not assigned")
			}
		default:
			return nil, nil, fmt.Errorf("%q is not a role (working_group or coordinator)", r)
		}
		if !slices.Contains(current, r) && !slices.Contains(assigned, r) {
			assigned = append(assigned, r)
		}
	}
	for _, r := range current {
		if !slices.Contains(wanted, r) {
			revoked = append(revoked, r)
		}
	}
	return assigned, revoked, nil
}
