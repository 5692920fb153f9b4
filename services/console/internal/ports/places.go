package ports

// The place tree the mapping form offers. Knowledge names a place by its path from the
// country down (country.state-or-region.lga-or-district[.locality]), and two engagements
// meet when one place contains the other; the form lets a person choose a place by name,
// at the level they work at, without typing a code. The list is the network's own
// places (the seeds' LPHU areas, WA and Otago); a place not listed is asked for by name
// of its region, which contains it.

import "strings"

// place is one place of the tree: its code and its name.
type place struct {
	Code, Name string
	// Depth is its level below the state or region (0: the whole state or region).
	Depth int
}

// placeGroup is one state or region and the places in it, for one <optgroup>.
type placeGroup struct {
	Label  string
	Places []place
}

// placeTree is every place the form offers, state or region first.
var placeTree = []placeGroup{
	{"Victoria", []place{
		{"au.vic", "All of Victoria", 0},
		{"au.vic.ballarat", "Ballarat", 1}, {"au.vic.banyule", "Banyule", 1}, {"au.vic.bendigo", "Greater Bendigo", 1},
		{"au.vic.brimbank", "Brimbank", 1}, {"au.vic.dandenong", "Greater Dandenong", 1}, {"au.vic.frankston", "Frankston", 1},
		{"au.vic.geelong", "Greater Geelong", 1}, {"au.vic.latrobe", "Latrobe", 1}, {"au.vic.melbourne", "City of Melbourne", 1},
		{"au.vic.melton", "Melton", 1}, {"au.vic.mildura", "Mildura", 1}, {"au.vic.shepparton", "Greater Shepparton", 1},
		{"au.vic.warrnambool", "Warrnambool", 1}, {"au.vic.wodonga", "Wodonga", 1}, {"au.vic.wyndham", "Wyndham", 1},
	}},
	{"New South Wales", []place{
		{"au.nsw", "All of New South Wales", 0},
		{"au.nsw.newcastle", "Newcastle", 1}, {"au.nsw.sydney", "City of Sydney", 1}, {"au.nsw.wollongong", "Wollongong", 1},
	}},
	{"Western Australia", []place{
		{"au.wa", "All of Western Australia", 0},
		{"au.wa.broome", "Broome", 1}, {"au.wa.bunbury", "Bunbury", 1}, {"au.wa.fremantle", "Fremantle", 1},
		{"au.wa.kalgoorlie-boulder", "Kalgoorlie-Boulder", 1}, {"au.wa.perth", "City of Perth", 1},
	}},
	{"Otago", []place{
		{"nz.otago", "All of Otago", 0},
		{"nz.otago.central-otago", "Central Otago", 1}, {"nz.otago.dunedin", "Dunedin", 1},
		{"nz.otago.queenstown-lakes", "Queenstown-Lakes", 1},
		{"nz.otago.queenstown-lakes.queenstown", "Queenstown", 2}, {"nz.otago.queenstown-lakes.wanaka", "Wānaka", 2},
	}},
	{"Canterbury", []place{
		{"nz.canterbury", "All of Canterbury", 0},
		{"nz.canterbury.christchurch", "Christchurch", 1}, {"nz.canterbury.timaru", "Timaru", 1},
	}},
	{"Northland", []place{
		{"nz.northland", "All of Northland", 0},
		{"nz.northland.far-north", "Far North", 1}, {"nz.northland.whangarei", "Whangārei", 1},
	}},
}

// placeNames names every place of the tree by its code, with its state or region.
var placeNames = func() map[string]string {
	out := map[string]string{}
	for _, g := range placeTree {
		for _, p := range g.Places {
			if p.Depth == 0 {
				out[p.Code] = g.Label
			} else {
				out[p.Code] = p.Name + ", " + g.Label
			}
		}
	}
	return out
}()

// placeName is how a place is shown: its name, or its code when the tree does not know it
// (a place mapped elsewhere, through the API).
func placeName(code string) string {
	if n, ok := placeNames[code]; ok {
		return n
	}
	return code
}

// Label is the option's text: a locality under its district reads "Queenstown-Lakes › Wānaka".
func (p place) Label() string {
	if p.Depth < 2 {
		return p.Name
	}
	parent := p.Code[:strings.LastIndex(p.Code, ".")]
	if n, ok := placeNames[parent]; ok {
		n, _, _ = strings.Cut(n, ",")
		return n + " › " + p.Name
	}
	return p.Name
}
