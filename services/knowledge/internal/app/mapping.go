package app

// Members' part in the map and the library (issue 18): members map their own work and
// share to their CoP's library; a member sees the overlaps touching what they mapped, with
// the other project's contact, and may record that it was coordinated.

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
)

// MaxFileBytes bounds an uploaded asset: the library is for guides, templates and slides,
// kept in PostgreSQL beside their listing.
const MaxFileBytes = 10 << 20

// belongs reports whether the caller is a current member of cop: a member grant in their
// token, or membership's events as this service keeps them.
func (a *Application) belongs(ctx context.Context, c httpx.Claims, cop string) (bool, error) {
	if !c.Signed() || cop == "" {
		return false, nil
	}
	if c.IsMemberOf(cop) {
		return true, nil
	}
	return a.repo.IsMember(ctx, c.Subject, cop)
}

// authorizeWork lets those who run a CoP (national, the hub of its region, its
// coordinator) and its current members act for it, and returns its region. An unknown CoP
// is a 422 on field.
func (a *Application) authorizeWork(ctx context.Context, c httpx.Claims, v *apperr.Validator, cop, field, what string) (string, error) {
	if err := httpx.Authorize(c, c.Signed(), what); err != nil {
		return "", err
	}
	if cop == "" {
		return "", v.Err()
	}
	region, err := a.repo.CoPRegion(ctx, cop, field)
	if err != nil {
		return "", err
	}
	ok := c.IsNational() || c.IsHubOf(region) || c.IsCoordinatorOf(cop)
	if !ok {
		if ok, err = a.belongs(ctx, c, cop); err != nil {
			return "", err
		}
	}
	if err := httpx.Authorize(c, ok, what+": only its members, its coordinator, its region's hub and national may"); err != nil {
		return "", err
	}
	return region, v.Err()
}

// scopeWork is scope for listings a member may also ask for about their own CoP: they see
// what they mapped themselves (the person it returns to filter by); anyone else is scoped
// as before.
func (a *Application) scopeWork(ctx context.Context, c httpx.Claims, region, cop *string, what string) (string, error) {
	if *cop != "" && c.Signed() && !c.IsNational() && !c.IsCoordinatorOf(*cop) {
		member, err := a.belongs(ctx, c, *cop)
		if err != nil {
			return "", err
		}
		if member {
			r, err := a.repo.CoPRegion(ctx, *cop, "cop")
			if err != nil {
				return "", err
			}
			if !c.IsHubOf(r) {
				if *region != "" && *region != r {
					return "", apperr.Forbidden("CoP %s is not in region %s", *cop, *region)
				}
				return c.Subject, nil
			}
		}
	}
	return "", a.scope(ctx, c, region, cop, what)
}

// maySeeOverlap: national, the hub of a region it touches, the coordinator of a CoP it
// touches, and a person who mapped one of its projects while still a member of its CoP.
func (a *Application) maySeeOverlap(ctx context.Context, c httpx.Claims, o Overlap) (bool, error) {
	if c.IsNational() || slices.ContainsFunc(o.Regions, c.IsHubOf) || slices.ContainsFunc(o.CoPIDs, c.IsCoordinatorOf) {
		return true, nil
	}
	for _, m := range o.Mappers {
		cop, person, _ := strings.Cut(m, "|")
		if !c.IsPerson(person) {
			continue
		}
		ok, err := a.belongs(ctx, c, cop)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

// OverlapDetail is one overlap with both its projects, contacts included: what those who
// may act on it need to reach the other side.
type OverlapDetail struct {
	Overlap
	Projects []*Project
}

// OverlapDetail returns one overlap to those who may see it (see maySeeOverlap); to anyone
// else it does not exist.
func (a *Application) OverlapDetail(ctx context.Context, c httpx.Claims, id string) (*OverlapDetail, error) {
	if err := httpx.Authorize(c, c.Signed(), "see this overlap"); err != nil {
		return nil, err
	}
	o, err := a.repo.Overlap(ctx, id)
	if err != nil {
		return nil, err
	}
	ok, err := a.maySeeOverlap(ctx, c, o)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, apperr.NotFound("no overlap %q that you may see", id)
	}
	ps, err := a.repo.ProjectsByID(ctx, o.ProjectIDs)
	if err != nil {
		return nil, err
	}
	return &OverlapDetail{Overlap: o, Projects: ps}, nil
}

// AssetQuery is the input of Assets.
type AssetQuery struct {
	Topic, Region, CoP string
}

// viewer is c as asset visibility sees them.
func viewer(c httpx.Claims) Viewer {
	return Viewer{National: c.IsNational(), Person: c.Subject, Coordinated: c.Scopes(httpx.RoleCoordinator),
		MemberOf: c.Scopes(httpx.RoleMember), HubOfRegions: c.Scopes(httpx.RoleHub)}
}

// ShareFile stores an uploaded file as a CoP's asset (its members, its coordinator, its
// hub, national). Its content type is sniffed from its bytes, never taken from the
// uploader, and it is served only as an attachment (see AssetContent).
func (a *Application) ShareFile(ctx context.Context, c httpx.Claims, in NewAsset, name string, content []byte) (*Asset, error) {
	var v apperr.Validator
	name = strings.TrimSpace(name)
	// The name is only ever shown and sent back in Content-Disposition (quoted there).
	v.Check(name != "" && len(name) <= 200 && utf8.ValidString(name) && !strings.ContainsFunc(name, unicode.IsControl) &&
		!strings.ContainsAny(name, "/\\"), "file", "needs a file name of at most 200 characters")
	v.Check(len(content) > 0, "file", "is empty")
	if len(content) > MaxFileBytes {
		return nil, apperr.TooLarge("file", "is larger than 10 MiB")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	f := &AssetFile{Name: name, ContentType: http.DetectContentType(content), Size: int64(len(content)), Content: content}
	return a.share(ctx, c, in, f)
}

// AssetContent returns an uploaded file to those who may see its asset; to anyone else
// it does not exist.
func (a *Application) AssetContent(ctx context.Context, c httpx.Claims, id string) (*AssetFile, error) {
	if err := httpx.Authorize(c, c.Signed(), "download assets"); err != nil {
		return nil, err
	}
	f, err := a.repo.AssetContent(ctx, id, viewer(c))
	if err != nil {
		return nil, err
	}
	if f == nil {
		return nil, apperr.NotFound("no file %q that you may see", id)
	}
	return f, nil
}
