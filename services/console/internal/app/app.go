// Package app is the console's use cases: the reactions to other services' events, which
// keep its read models (the projection) up to date.
package app

import (
	"context"

	"github.com/copnet/copnet/pkg/events"
)

// Repository is the projection: one method per event the console projects. The bus runs
// each reaction in the consumer's transaction, which ctx carries; the repository joins it,
// so the projected rows commit with the record that the event was processed.
type Repository interface {
	ApplyRegionCreated(ctx context.Context, ev events.RegionCreated, env events.Envelope) error
	ApplyCoPProposed(ctx context.Context, ev events.CoPProposed, env events.Envelope) error
	ApplyCoPApproved(ctx context.Context, ev events.CoPApproved, env events.Envelope) error
	ApplyCoPDeclined(ctx context.Context, ev events.CoPDeclined, env events.Envelope) error
	ApplyCoPChangesRequested(ctx context.Context, ev events.CoPChangesRequested, env events.Envelope) error
	ApplyCoPResubmitted(ctx context.Context, ev events.CoPResubmitted, env events.Envelope) error
	ApplyCoPRetired(ctx context.Context, ev events.CoPRetired, env events.Envelope) error
	ApplyCharterPublished(ctx context.Context, ev events.CharterPublished, env events.Envelope) error
	ApplyStageChanged(ctx context.Context, ev events.StageChanged, env events.Envelope) error
	ApplyMemberJoined(ctx context.Context, ev events.MemberJoined, env events.Envelope) error
	ApplyMemberLeft(ctx context.Context, ev events.MemberLeft, env events.Envelope) error
	ApplyPersonErased(ctx context.Context, ev events.PersonErased, env events.Envelope) error
	ApplySessionScheduled(ctx context.Context, ev events.SessionScheduled, env events.Envelope) error
	ApplySessionRescheduled(ctx context.Context, ev events.SessionRescheduled, env events.Envelope) error
	ApplySessionCancelled(ctx context.Context, ev events.SessionCancelled, env events.Envelope) error
	ApplySessionHeld(ctx context.Context, ev events.SessionHeld, env events.Envelope) error
	ApplyAttendanceRecorded(ctx context.Context, ev events.AttendanceRecorded, env events.Envelope) error
	ApplyParticipationDeclining(ctx context.Context, ev events.ParticipationDeclining, env events.Envelope) error
	ApplyPollOpened(ctx context.Context, ev events.PollOpened, env events.Envelope) error
	ApplyPollClosed(ctx context.Context, ev events.PollClosed, env events.Envelope) error
	ApplyResultsPublished(ctx context.Context, ev events.ResultsPublished, env events.Envelope) error
	ApplyStageAssessed(ctx context.Context, ev events.StageAssessed, env events.Envelope) error
	ApplyProjectMapped(ctx context.Context, ev events.ProjectMapped, env events.Envelope) error
	ApplyOverlapDetected(ctx context.Context, ev events.OverlapDetected, env events.Envelope) error
	ApplyOverlapResolved(ctx context.Context, ev events.OverlapResolved, env events.Envelope) error
	ApplyGapIdentified(ctx context.Context, ev events.GapIdentified, env events.Envelope) error
	ApplyGapFilled(ctx context.Context, ev events.GapFilled, env events.Envelope) error
	ApplyRequestRaised(ctx context.Context, ev events.RequestRaised, env events.Envelope) error
	ApplyRequestAnswered(ctx context.Context, ev events.RequestAnswered, env events.Envelope) error
}

// Application is the console's use cases.
type Application struct {
	repo Repository
}

// New returns the application over repo.
func New(repo Repository) *Application { return &Application{repo: repo} }

// Reactions to other services' events: the console keeps figures, never decides, so each
// is the projection's change for its event.

// OnRegionCreated projects region_created.
func (a *Application) OnRegionCreated(ctx context.Context, ev events.RegionCreated, env events.Envelope) error {
	return a.repo.ApplyRegionCreated(ctx, ev, env)
}

// OnCoPProposed projects cop_proposed.
func (a *Application) OnCoPProposed(ctx context.Context, ev events.CoPProposed, env events.Envelope) error {
	return a.repo.ApplyCoPProposed(ctx, ev, env)
}

// OnCoPApproved projects cop_approved.
func (a *Application) OnCoPApproved(ctx context.Context, ev events.CoPApproved, env events.Envelope) error {
	return a.repo.ApplyCoPApproved(ctx, ev, env)
}

// OnCoPChangesRequested projects cop_changes_requested.
func (a *Application) OnCoPChangesRequested(ctx context.Context, ev events.CoPChangesRequested, env events.Envelope) error {
	return a.repo.ApplyCoPChangesRequested(ctx, ev, env)
}

// OnCoPResubmitted projects cop_resubmitted.
func (a *Application) OnCoPResubmitted(ctx context.Context, ev events.CoPResubmitted, env events.Envelope) error {
	return a.repo.ApplyCoPResubmitted(ctx, ev, env)
}

// OnCoPDeclined projects cop_declined.
func (a *Application) OnCoPDeclined(ctx context.Context, ev events.CoPDeclined, env events.Envelope) error {
	return a.repo.ApplyCoPDeclined(ctx, ev, env)
}

// OnCoPRetired projects cop_retired.
func (a *Application) OnCoPRetired(ctx context.Context, ev events.CoPRetired, env events.Envelope) error {
	return a.repo.ApplyCoPRetired(ctx, ev, env)
}

// OnCharterPublished projects charter_published.
func (a *Application) OnCharterPublished(ctx context.Context, ev events.CharterPublished, env events.Envelope) error {
	return a.repo.ApplyCharterPublished(ctx, ev, env)
}

// OnStageChanged projects stage_changed.
func (a *Application) OnStageChanged(ctx context.Context, ev events.StageChanged, env events.Envelope) error {
	return a.repo.ApplyStageChanged(ctx, ev, env)
}

// OnMemberJoined projects member_joined.
func (a *Application) OnMemberJoined(ctx context.Context, ev events.MemberJoined, env events.Envelope) error {
	return a.repo.ApplyMemberJoined(ctx, ev, env)
}

// OnMemberLeft projects member_left.
func (a *Application) OnMemberLeft(ctx context.Context, ev events.MemberLeft, env events.Envelope) error {
	return a.repo.ApplyMemberLeft(ctx, ev, env)
}

// OnPersonErased projects person_erased.
func (a *Application) OnPersonErased(ctx context.Context, ev events.PersonErased, env events.Envelope) error {
	return a.repo.ApplyPersonErased(ctx, ev, env)
}

// OnSessionScheduled projects session_scheduled.
func (a *Application) OnSessionScheduled(ctx context.Context, ev events.SessionScheduled, env events.Envelope) error {
	return a.repo.ApplySessionScheduled(ctx, ev, env)
}

// OnSessionRescheduled projects session_rescheduled.
func (a *Application) OnSessionRescheduled(ctx context.Context, ev events.SessionRescheduled, env events.Envelope) error {
	return a.repo.ApplySessionRescheduled(ctx, ev, env)
}

// OnSessionCancelled projects session_cancelled.
func (a *Application) OnSessionCancelled(ctx context.Context, ev events.SessionCancelled, env events.Envelope) error {
	return a.repo.ApplySessionCancelled(ctx, ev, env)
}

// OnSessionHeld projects session_held.
func (a *Application) OnSessionHeld(ctx context.Context, ev events.SessionHeld, env events.Envelope) error {
	return a.repo.ApplySessionHeld(ctx, ev, env)
}

// OnAttendanceRecorded projects attendance_recorded.
func (a *Application) OnAttendanceRecorded(ctx context.Context, ev events.AttendanceRecorded, env events.Envelope) error {
	return a.repo.ApplyAttendanceRecorded(ctx, ev, env)
}

// OnParticipationDeclining projects participation_declining.
func (a *Application) OnParticipationDeclining(ctx context.Context, ev events.ParticipationDeclining, env events.Envelope) error {
	return a.repo.ApplyParticipationDeclining(ctx, ev, env)
}

// OnPollOpened projects poll_opened.
func (a *Application) OnPollOpened(ctx context.Context, ev events.PollOpened, env events.Envelope) error {
	return a.repo.ApplyPollOpened(ctx, ev, env)
}

// OnPollClosed projects poll_closed.
func (a *Application) OnPollClosed(ctx context.Context, ev events.PollClosed, env events.Envelope) error {
	return a.repo.ApplyPollClosed(ctx, ev, env)
}

// OnResultsPublished projects results_published.
func (a *Application) OnResultsPublished(ctx context.Context, ev events.ResultsPublished, env events.Envelope) error {
	return a.repo.ApplyResultsPublished(ctx, ev, env)
}

// OnStageAssessed projects stage_assessed.
func (a *Application) OnStageAssessed(ctx context.Context, ev events.StageAssessed, env events.Envelope) error {
	return a.repo.ApplyStageAssessed(ctx, ev, env)
}

// OnProjectMapped projects project_mapped.
func (a *Application) OnProjectMapped(ctx context.Context, ev events.ProjectMapped, env events.Envelope) error {
	return a.repo.ApplyProjectMapped(ctx, ev, env)
}

// OnOverlapDetected projects overlap_detected.
func (a *Application) OnOverlapDetected(ctx context.Context, ev events.OverlapDetected, env events.Envelope) error {
	return a.repo.ApplyOverlapDetected(ctx, ev, env)
}

// OnOverlapResolved projects overlap_resolved.
func (a *Application) OnOverlapResolved(ctx context.Context, ev events.OverlapResolved, env events.Envelope) error {
	return a.repo.ApplyOverlapResolved(ctx, ev, env)
}

// OnGapIdentified projects gap_identified.
func (a *Application) OnGapIdentified(ctx context.Context, ev events.GapIdentified, env events.Envelope) error {
	return a.repo.ApplyGapIdentified(ctx, ev, env)
}

// OnRequestRaised projects request_raised (the reports' requests raised).
func (a *Application) OnRequestRaised(ctx context.Context, ev events.RequestRaised, env events.Envelope) error {
	return a.repo.ApplyRequestRaised(ctx, ev, env)
}

// OnRequestAnswered projects request_answered (the reports' requests answered).
func (a *Application) OnRequestAnswered(ctx context.Context, ev events.RequestAnswered, env events.Envelope) error {
	return a.repo.ApplyRequestAnswered(ctx, ev, env)
}

// OnGapFilled projects gap_filled (the reports' gaps filled).
func (a *Application) OnGapFilled(ctx context.Context, ev events.GapFilled, env events.Envelope) error {
	return a.repo.ApplyGapFilled(ctx, ev, env)
}
