package events

// Registry service events. The registry owns regions, CoPs, charters, stages and statuses.

const registry = "registry"

// RegionCreated is published when national adds a region.
type RegionCreated struct {
	RegionID string `json:"region_id"`
	Name     string `json:"name"`
}

// EventName implements Event.
func (RegionCreated) EventName() Name { return Name{registry, "region_created", 1} }

// CoPProposed is published when a hub or national proposes a CoP; it enters onboarding.
type CoPProposed struct {
	CoPID             string   `json:"cop_id"`
	Region            string   `json:"region"`
	Name              string   `json:"name"`
	Scope             string   `json:"scope"`
	Topics            []string `json:"topics"`
	HostOrganisations []string `json:"host_organisations"`
	Stage             string   `json:"stage"`
}

// EventName implements Event.
func (CoPProposed) EventName() Name { return Name{registry, "cop_proposed", 1} }

// CoPApproved lets every other service accept the CoP.
type CoPApproved struct {
	CoPID  string `json:"cop_id"`
	Region string `json:"region"`
	Reason string `json:"reason,omitempty"`
}

// EventName implements Event.
func (CoPApproved) EventName() Name { return Name{registry, "cop_approved", 1} }

// CoPDeclined ends an application.
type CoPDeclined struct {
	CoPID  string `json:"cop_id"`
	Region string `json:"region"`
	Reason string `json:"reason"`
}

// EventName implements Event.
func (CoPDeclined) EventName() Name { return Name{registry, "cop_declined", 1} }

// CharterPublished carries the new charter version; membership treats it as the CoP's
// current Code of Practice version.
type CharterPublished struct {
	CoPID   string `json:"cop_id"`
	Region  string `json:"region"`
	Version int    `json:"version"`
}

// EventName implements Event.
func (CharterPublished) EventName() Name { return Name{registry, "charter_published", 1} }

// StageChanged records a move between Wenger stages.
type StageChanged struct {
	CoPID  string `json:"cop_id"`
	Region string `json:"region"`
	From   string `json:"from"`
	To     string `json:"to"`
}

// EventName implements Event.
func (StageChanged) EventName() Name { return Name{registry, "stage_changed", 1} }

// CoPRetired is published when a CoP closes for good.
type CoPRetired struct {
	CoPID  string `json:"cop_id"`
	Region string `json:"region"`
	Reason string `json:"reason"`
}

// EventName implements Event.
func (CoPRetired) EventName() Name { return Name{registry, "cop_retired", 1} }

// All lists every event type the system defines, so documents and schemas can be checked
// against the code. Each new event is added here.
func All() []Event {
	return []Event{
		RegionCreated{}, CoPProposed{}, CoPApproved{}, CoPDeclined{},
		CharterPublished{}, StageChanged{}, CoPRetired{},
	}
}
