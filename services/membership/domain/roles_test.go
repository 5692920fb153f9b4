package domain

import (
	"slices"
	"testing"
)

func TestChangeRoles(t *testing.T) {
	wg, co := RoleWorkingGroup, RoleCoordinator
	cases := []struct {
		name              string
		current, wanted   []Role
		assigned, revoked []Role
		wantErr           bool
	}{
		{"join the working group", nil, []Role{wg}, []Role{wg}, nil, false},
		{"leave the working group", []Role{wg}, []Role{}, nil, []Role{wg}, false},
		{"nothing changes", []Role{wg}, []Role{wg, wg}, nil, nil, false},
		{"a coordinator keeps the role", []Role{co}, []Role{co, wg}, []Role{wg}, nil, false},
		{"a coordinator steps down", []Role{co, wg}, []Role{wg}, nil, []Role{co}, false},
		{"coordinator only by consent", nil, []Role{co}, nil, nil, true},
		{"unknown role", nil, []Role{"treasurer"}, nil, nil, true},
	}
	for _, tc := range cases {
		assigned, revoked, err := ChangeRoles(tc.current, tc.wanted)
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: err = %v", tc.name, err)
			continue
		}
		if !slices.Equal(assigned, tc.assigned) || !slices.Equal(revoked, tc.revoked) {
			t.Errorf("%s: assigned %v revoked %v, want %v and %v", tc.name, assigned, revoked, tc.assigned, tc.revoked)
		}
	}
}
