package main

import (
	"strings"
	"time"
)

// The demo network, modelled on the seeds: a state health promotion CoP of six local
// public health units with a seven-session Share / Discuss / Apply program and a council's
// internal engagement CoP in Victoria; a regional network of community organisations and a
// health consumer-engagement CoP with a working group in Western Australia. Two projects in
// Victoria ask the same young people of Geelong at the same time (community fatigue); two
// in Western Australia work on volunteering with different communities (duplication); a
// nationwide youth survey from Western Australia asks Geelong's young people a third time
// (fatigue across regions). history.go adds the past half-year.

type demoRegion struct{ ID, Name string }

type demoPerson struct{ Name, Email, Organisation string }

type demoProgram struct {
	Title, Timezone, Cadence string
	Sessions                 int
	// First returns the first session's local date-time, an occurrence of Cadence.
	First    func(now time.Time) string
	Duration int
	Format   []string
	Checkins []int
}

type demoProject struct {
	Title, Organisation string
	Topics              []string
	Place, Group        string
	Methods             []string
	// StartMonths is how many months after this month the project starts; it runs Months.
	StartMonths, Months int
}

type demoCoP struct {
	Region, Name, Scope, Purpose string
	Topics, Hosts                []string
	Frequency                    string
	Duration                     int
	Format                       []string
	Roster                       []demoPerson
	// WorkingGroup names the roster members who form the working group.
	WorkingGroup []string
	Program      *demoProgram
	Projects     []demoProject
}

// demoOverlaps is how many overlaps the demo's projects make at least: fatigue in vic,
// duplication in wa, fatigue across vic and wa.
const demoOverlaps = 3

var demoRegions = []demoRegion{{"vic", "Victoria"}, {"wa", "Western Australia"}}

var shareDiscussApply = []string{"share", "discuss", "apply"}

var demoCoPs = []demoCoP{
	{
		Region: "vic", Name: "Health promotion in local public health units", Scope: "regional",
		Purpose: "Six local public health units share what works in health promotion, discuss it and apply it in their catchments.",
		Topics:  []string{"health promotion", "prevention", "youth mental health"},
		Hosts: []string{"Barwon South West LPHU", "Gippsland LPHU", "Grampians Wimmera Southern Mallee LPHU",
			"Loddon Mallee LPHU", "Goulburn Valley LPHU", "Western LPHU"},
		Frequency: "monthly", Duration: 90, Format: shareDiscussApply,
		Roster: []demoPerson{
			{"Aroha Smith", "aroha.smith@demo.copnet.example", "Barwon South West LPHU"},
			{"Ben Li", "ben.li@demo.copnet.example", "Gippsland LPHU"},
			{"Chloe Nguyen", "chloe.nguyen@demo.copnet.example", "Grampians Wimmera Southern Mallee LPHU"},
			{"Dev Patel", "dev.patel@demo.copnet.example", "Loddon Mallee LPHU"},
			{"Emma Walsh", "emma.walsh@demo.copnet.example", "Goulburn Valley LPHU"},
			{"Farid Haddad", "farid.haddad@demo.copnet.example", "Western LPHU"},
		},
		Program: &demoProgram{
			Title: "Share, discuss, apply: health promotion practice", Timezone: "Australia/Melbourne",
			Cadence: "FREQ=MONTHLY;BYDAY=2TU", Sessions: 7, Duration: 90, Format: shareDiscussApply, Checkins: []int{4, 7},
			First: func(now time.Time) string { return nthWeekday(now, 2, time.Tuesday, "14:00") },
		},
		Projects: []demoProject{{
			Title: "Youth wellbeing listening tour", Organisation: "Barwon South West LPHU",
			Topics: []string{"youth mental health"}, Place: "au.vic.geelong", Group: "young people",
			Methods: []string{"survey", "focus groups"}, StartMonths: 1, Months: 3,
		}},
	},
	{
		Region: "vic", Name: "Council community engagement", Scope: "local",
		Purpose: "An internal CoP of the council: staff across its departments who run community engagement learn from each other's consultations and coordinate them.",
		Topics:  []string{"community engagement", "youth mental health"}, Hosts: []string{"City of Greater Geelong"},
		Frequency: "bi-monthly", Duration: 60, Format: []string{"share", "discuss"},
		Roster: []demoPerson{
			{"Grace Kim", "grace.kim@demo.copnet.example", "City of Greater Geelong"},
			{"Hamish Brown", "hamish.brown@demo.copnet.example", "City of Greater Geelong"},
			{"Isla Rossi", "isla.rossi@demo.copnet.example", "City of Greater Geelong"},
			{"Jack O'Connor", "jack.oconnor@demo.copnet.example", "City of Greater Geelong"},
		},
		Projects: []demoProject{{
			Title: "Youth strategy consultation", Organisation: "City of Greater Geelong",
			Topics: []string{"youth mental health", "community engagement"}, Place: "au.vic.geelong", Group: "young people",
			Methods: []string{"survey", "pop-up stalls"}, StartMonths: 1, Months: 2,
		}},
	},
	{
		Region: "wa", Name: "Community organisations network", Scope: "regional",
		Purpose: "Twenty-four community organisations across the region share practice in volunteering and community development, " +
			"coordinate their work and avoid duplicating each other's efforts.",
		Topics:    []string{"volunteering", "community development"},
		Hosts:     communityOrganisations,
		Frequency: "monthly", Duration: 120, Format: shareDiscussApply,
		Roster: communityRoster(),
		Program: &demoProgram{
			Title: "Volunteering practice exchange", Timezone: "Australia/Perth",
			Cadence: "FREQ=MONTHLY;BYDAY=1WE", Sessions: 6, Duration: 120, Format: shareDiscussApply, Checkins: []int{3, 6},
			First: func(now time.Time) string { return nthWeekday(now, 1, time.Wednesday, "10:00") },
		},
		Projects: []demoProject{{
			Title: "Volunteer pathways survey", Organisation: "Perth Community Hub",
			Topics: []string{"volunteering"}, Place: "au.wa.perth", Group: "volunteers",
			Methods: []string{"survey"}, StartMonths: 1, Months: 4,
		}, {
			// Nationwide, so it asks Geelong's young people too, while two Victorian
			// projects do: community fatigue across regions.
			Title: "National youth volunteering survey", Organisation: "Joondalup Youth Services",
			Topics: []string{"youth volunteering"}, Place: "au", Group: "young people",
			Methods: []string{"online survey"}, StartMonths: 1, Months: 2,
		}},
	},
	{
		Region: "wa", Name: "Health consumer engagement", Scope: "regional",
		Purpose: "Promote best practice and build capability in consumer and carer engagement and participation across the health sector, " +
			"guided by a working group of members.",
		Topics: []string{"consumer engagement", "volunteering"}, Hosts: []string{"WA Health Consumers' Council"},
		Frequency: "monthly", Duration: 60, Format: []string{"share", "discuss", "apply"},
		Roster: []demoPerson{
			{"Priya Sharma", "priya.sharma@demo.copnet.example", "WA Health Consumers' Council"},
			{"Quinn Taylor", "quinn.taylor@demo.copnet.example", "South West Health"},
			{"Ruby Evans", "ruby.evans@demo.copnet.example", "Consumer representative"},
			{"Sam Okafor", "sam.okafor@demo.copnet.example", "Fiona Stanley Hospital"},
		},
		WorkingGroup: []string{"Priya Sharma", "Quinn Taylor", "Ruby Evans"},
		Projects: []demoProject{{
			Title: "Consumer voices in volunteering", Organisation: "WA Health Consumers' Council",
			Topics: []string{"volunteering", "consumer engagement"}, Place: "au.wa.bunbury", Group: "health consumers",
			Methods: []string{"interviews"}, StartMonths: 2, Months: 3,
		}},
	},
}

// communityOrganisations are the 24 members of the WA regional network, one coordinator each.
var communityOrganisations = []string{
	"Perth Community Hub", "Fremantle Neighbourhood Centre", "Bunbury Volunteer Centre", "Midland Family Services",
	"Joondalup Youth Services", "Mandurah Men's Shed", "Albany Community Garden", "Geraldton Landcare",
	"Busselton Foodbank", "Kalgoorlie Neighbourhood House", "Armadale Multicultural Network", "Rockingham Seniors Club",
	"Broome Youth Hub", "Esperance Coastcare", "Northam Community Resource Centre", "Karratha Family Support",
	"Collie Neighbourhood Centre", "Margaret River Volunteer Hub", "Gosnells Community Legal Centre", "Swan Valley Arts Collective",
	"Cockburn Tenants Network", "Stirling Disability Advocates", "Bayswater Repair Café", "Wanneroo Emergency Relief",
}

// communityRoster is one coordinator for each of the network's organisations.
func communityRoster() []demoPerson {
	first := []string{"Kai", "Lena", "Mia", "Noah", "Olivia", "Pete", "Quinlan", "Rosa", "Sione", "Tara", "Uma", "Vik",
		"Wren", "Xavier", "Yasmin", "Zac", "Abby", "Bilal", "Cora", "Dmitri", "Elif", "Finn", "Gia", "Hugo"}
	last := []string{"Wilson", "Fischer", "Tran", "Jones", "Chen", "Murray", "Hart", "Alvarez", "Tupou", "Singh", "Rao", "Novak",
		"Ellis", "Dupont", "Karimi", "Moore", "Grant", "Aziz", "Byrne", "Petrov", "Demir", "Walsh", "Romano", "Laurent"}
	out := make([]demoPerson, len(communityOrganisations))
	for i, org := range communityOrganisations {
		out[i] = demoPerson{first[i] + " " + last[i], strings.ToLower(first[i]+"."+last[i]) + "@demo.copnet.example", org}
	}
	return out
}

// nthWeekday is the local date-time (at hhmm) of the nth given weekday of next month.
func nthWeekday(now time.Time, n int, wd time.Weekday, hhmm string) string {
	first := time.Date(now.Year(), now.Month()+1, 1, 0, 0, 0, 0, time.UTC)
	offset := (int(wd) - int(first.Weekday()) + 7) % 7
	day := first.AddDate(0, 0, offset+7*(n-1))
	return day.Format("2006-01-02") + "T" + hhmm
}

// monthStart is the first day of the month that starts months after now's month.
func monthStart(now time.Time, months int) time.Time {
	return time.Date(now.Year(), now.Month()+time.Month(months), 1, 0, 0, 0, 0, time.UTC)
}
