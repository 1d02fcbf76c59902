package dynamap

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/paulmach/orb"

	"github.com/citytwin/citytwin/geo"
)

// Road is what the model made of one road segment.
type Road struct {
	ID string
	// DailyFlow is the flow used, veh/day: measured, or from the class table.
	DailyFlow float64
	// Measured says DailyFlow came from the caller's flows.
	Measured bool
	// EmissionDB is L_W′, dB re 1 pW/m; 0 when DailyFlow is 0.
	EmissionDB float64
	// Group is the road's group, −1 when it emits nothing (DailyFlow 0).
	Group int
}

// Group describes one road group.
type Group struct {
	Index int
	// Roads counts the group's roads.
	Roads int
	// MinLgFlow and MaxLgFlow bound x = lg(daily flow) of its roads.
	MinLgFlow, MaxLgFlow float64
}

// Grid is the receiver raster. Cell i = r·NX + c (row-major from the
// north-west corner: row 0 is the northernmost) has its centre at
// lon = Bound.Min[0] + (c + ½)·DLon, lat = Bound.Max[1] − (r + ½)·DLat.
type Grid struct {
	// Bound is the raster's extent: the mapped area grown to whole cells
	// towards the east and the north.
	Bound      orb.Bound
	NX, NY     int
	CellMetres float64
	// DLon and DLat are the cell size in degrees.
	DLon, DLat float64
}

// Len is the number of cells.
func (g Grid) Len() int { return g.NX * g.NY }

// Center returns the centre of cell i.
func (g Grid) Center(i int) orb.Point {
	r, c := i/g.NX, i%g.NX
	return orb.Point{g.Bound.Min[0] + (float64(c)+0.5)*g.DLon, g.Bound.Max[1] - (float64(r)+0.5)*g.DLat}
}

// Cell returns the index of the cell containing p, false outside the raster.
func (g Grid) Cell(p orb.Point) (int, bool) {
	c := int(math.Floor((p[0] - g.Bound.Min[0]) / g.DLon))
	r := int(math.Floor((g.Bound.Max[1] - p[1]) / g.DLat))
	if c < 0 || c >= g.NX || r < 0 || r >= g.NY {
		return 0, false
	}
	return r*g.NX + c, true
}

// CellBound returns the extent of cell i.
func (g Grid) CellBound(i int) orb.Bound {
	r, c := i/g.NX, i%g.NX
	minLon := g.Bound.Min[0] + float64(c)*g.DLon
	maxLat := g.Bound.Max[1] - float64(r)*g.DLat
	return orb.Bound{Min: orb.Point{minLon, maxLat - g.DLat}, Max: orb.Point{minLon + g.DLon, maxLat}}
}

// Model holds the reference maps of the road groups. It is immutable and safe
// for concurrent use.
type Model struct {
	cfg    Config
	city   *geo.City
	frame  frame
	grid   Grid
	roads  []Road
	roadIx map[string]int
	groups []Group
	// energy[k·G + j] is E_j at cell k.
	energy []float32
	// Point sources, sorted by bucket; w is the source power times
	// 10^(−1.1), the 4π of spherical divergence.
	srcX, srcY, srcW []float64
	srcG             []uint8
	srcR             []int32 // the road (index in roads) of each source
	bucket           buckets
	beta             float64 // absorption: 10^(−α·d/10) = exp(−beta·d)
}

// frame is an equirectangular projection around o: metres per degree of
// longitude (kx) and latitude (ky) from the WGS84 radii of curvature.
type frame struct {
	o      orb.Point
	kx, ky float64
}

func newFrame(o orb.Point) frame {
	const a, f = 6378137.0, 1 / 298.257223563
	const e2 = f * (2 - f)
	phi := o[1] * math.Pi / 180
	s := math.Sin(phi)
	w := 1 - e2*s*s
	n := a / math.Sqrt(w)
	m := a * (1 - e2) / (w * math.Sqrt(w))
	return frame{o: o, kx: n * math.Cos(phi) * math.Pi / 180, ky: m * math.Pi / 180}
}

func (f frame) xy(p orb.Point) (x, y float64) {
	return (p[0] - f.o[0]) * f.kx, (p[1] - f.o[1]) * f.ky
}

// buckets index the sources on a square grid of side size metres: bucket
// (i, j) holds sources start[j·nx+i] … start[j·nx+i+1]−1.
type buckets struct {
	x0, y0, size float64
	nx, ny       int
	start        []int32
}

// New builds the model: each road's flow and emission, the groups and the
// reference maps. flows are measured daily flows (veh/day) by road id; they
// win over the class table. city must have a road layer.
func New(cfg Config, city *geo.City, flows map[string]float64) (*Model, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if city == nil {
		return nil, fmt.Errorf("new noise model: city is nil")
	}
	feats := city.Features(geo.KindRoad)
	if len(feats) == 0 {
		return nil, fmt.Errorf("new noise model: the city has no roads")
	}
	m := &Model{cfg: cfg, city: city, roadIx: make(map[string]int, len(feats))}
	m.beta = cfg.AirAbsorption * math.Ln10 / 10

	// Flows and emissions.
	m.roads = make([]Road, len(feats))
	for i, f := range feats {
		m.roadIx[f.ID] = i
		q := classFlow(cfg.ClassFlow, f.RoadClass)
		if f.Lanes > 0 {
			q *= float64(f.Lanes) / 2
		}
		m.roads[i] = Road{ID: f.ID, DailyFlow: q, Group: -1}
	}
	for id, q := range flows {
		i, ok := m.roadIx[id]
		if !ok {
			return nil, fmt.Errorf("new noise model: flows[%q]: no road with this id", id)
		}
		if !inRange(q, 0, 1e7) {
			return nil, fmt.Errorf("new noise model: flows[%q] = %g: must be from 0 to 1e7 veh/day", id, q)
		}
		m.roads[i].DailyFlow, m.roads[i].Measured = q, true
	}
	for i, f := range feats {
		r := &m.roads[i]
		if r.DailyFlow <= 0 {
			continue
		}
		r.EmissionDB = cfg.Emission(f, r.DailyFlow)
		if math.IsNaN(r.EmissionDB) || math.IsInf(r.EmissionDB, 0) {
			return nil, fmt.Errorf("new noise model: emission of road %q (flow %g veh/day) is %g: must be finite", f.ID, r.DailyFlow, r.EmissionDB)
		}
	}
	m.groups = assignGroups(m.roads, cfg.Groups)
	if len(m.groups) == 0 {
		return nil, fmt.Errorf("new noise model: no road carries traffic (all %d flows are 0)", len(feats))
	}

	// The raster.
	b := cfg.Bound
	if b == (orb.Bound{}) {
		b = city.Bound()
	}
	m.frame = newFrame(b.Center())
	g := Grid{CellMetres: cfg.CellMetres, DLon: cfg.CellMetres / m.frame.kx, DLat: cfg.CellMetres / m.frame.ky}
	g.NX = max(1, int(math.Ceil((b.Max[0]-b.Min[0])/g.DLon-1e-9)))
	g.NY = max(1, int(math.Ceil((b.Max[1]-b.Min[1])/g.DLat-1e-9)))
	if g.NX*g.NY > MaxCells {
		return nil, fmt.Errorf("new noise model: %d×%d cells of %g m: more than MaxCells (%d); raise CellMetres or shrink Bound",
			g.NX, g.NY, cfg.CellMetres, MaxCells)
	}
	g.Bound = orb.Bound{Min: b.Min, Max: orb.Point{b.Min[0] + float64(g.NX)*g.DLon, b.Min[1] + float64(g.NY)*g.DLat}}
	m.grid = g

	m.discretise(feats)
	m.build()
	return m, nil
}

// assignGroups sets each emitting road's group by quantiles of lg(flow) (see
// the package doc) and returns the groups.
func assignGroups(roads []Road, want int) []Group {
	xs := make([]float64, 0, len(roads))
	for _, r := range roads {
		if r.DailyFlow > 0 {
			xs = append(xs, math.Log10(r.DailyFlow))
		}
	}
	if len(xs) == 0 {
		return nil
	}
	slices.Sort(xs)
	var th []float64
	for i := 1; i < want; i++ {
		t := xs[i*len(xs)/want]
		if t > xs[0] && (len(th) == 0 || t > th[len(th)-1]) {
			th = append(th, t)
		}
	}
	groups := make([]Group, len(th)+1)
	for j := range groups {
		groups[j] = Group{Index: j, MinLgFlow: math.Inf(1), MaxLgFlow: math.Inf(-1)}
	}
	for i := range roads {
		r := &roads[i]
		if r.DailyFlow <= 0 {
			continue
		}
		x := math.Log10(r.DailyFlow)
		j, _ := slices.BinarySearch(th, x) // thresholds < x
		if j < len(th) && th[j] == x {
			j++ // thresholds ≤ x
		}
		r.Group = j
		gr := &groups[j]
		gr.Roads++
		gr.MinLgFlow, gr.MaxLgFlow = min(gr.MinLgFlow, x), max(gr.MaxLgFlow, x)
	}
	return groups
}

// discretise turns the emitting roads into point sources and buckets them.
func (m *Model) discretise(feats []*geo.Feature) {
	type src struct {
		x, y, w float64
		g       uint8
		r       int32
	}
	var all []src
	step := m.cfg.StepMetres
	for i, f := range feats {
		r := m.roads[i]
		if r.Group < 0 {
			continue
		}
		wPerM := math.Pow(10, r.EmissionDB/10) * math.Pow(10, -1.1)
		var lines []orb.LineString
		switch gm := f.Geometry.(type) {
		case orb.LineString:
			lines = []orb.LineString{gm}
		case orb.MultiLineString:
			lines = gm
		}
		for _, ls := range lines {
			for k := 1; k < len(ls); k++ {
				ax, ay := m.frame.xy(ls[k-1])
				bx, by := m.frame.xy(ls[k])
				l := math.Hypot(bx-ax, by-ay)
				if l == 0 {
					continue
				}
				n := int(math.Ceil(l / step))
				dl := l / float64(n)
				for p := range n {
					t := (float64(p) + 0.5) / float64(n)
					all = append(all, src{ax + t*(bx-ax), ay + t*(by-ay), wPerM * dl, uint8(r.Group), int32(i)})
				}
			}
		}
	}
	bk := buckets{size: m.cfg.CutoffMetres / 2}
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, s := range all {
		minX, minY, maxX, maxY = min(minX, s.x), min(minY, s.y), max(maxX, s.x), max(maxY, s.y)
	}
	if len(all) == 0 {
		minX, minY, maxX, maxY = 0, 0, 0, 0
	}
	bk.x0, bk.y0 = minX, minY
	bk.nx = int((maxX-minX)/bk.size) + 1
	bk.ny = int((maxY-minY)/bk.size) + 1
	bk.start = make([]int32, bk.nx*bk.ny+1)
	idx := func(s src) int {
		i := min(bk.nx-1, int((s.x-bk.x0)/bk.size))
		j := min(bk.ny-1, int((s.y-bk.y0)/bk.size))
		return j*bk.nx + i
	}
	for _, s := range all {
		bk.start[idx(s)+1]++
	}
	for i := 1; i < len(bk.start); i++ {
		bk.start[i] += bk.start[i-1]
	}
	n := len(all)
	m.srcX, m.srcY, m.srcW, m.srcG = make([]float64, n), make([]float64, n), make([]float64, n), make([]uint8, n)
	m.srcR = make([]int32, n)
	next := slices.Clone(bk.start[:len(bk.start)-1])
	for _, s := range all {
		b := idx(s)
		k := next[b]
		next[b]++
		m.srcX[k], m.srcY[k], m.srcW[k], m.srcG[k], m.srcR[k] = s.x, s.y, s.w, s.g, s.r
	}
	m.bucket = bk
}

// RoadEnergy returns the reference energy (10^(L/10)) that each road
// within the cutoff sends to p, by road id: the contributions whose
// energetic sum is the reference level at p. Scenarios use the shares to
// re-sum a receiver's level when some roads change.
func (m *Model) RoadEnergy(p orb.Point) map[string]float64 {
	out := make(map[string]float64)
	m.visit(p, func(k int, e float64) { out[m.roads[m.srcR[k]].ID] += e })
	return out
}

// visit calls fn with every source within the cutoff of p and the energy
// it sends there.
func (m *Model) visit(p orb.Point, fn func(k int, e float64)) {
	x, y := m.frame.xy(p)
	bk := &m.bucket
	r2 := m.cfg.CutoffMetres * m.cfg.CutoffMetres
	fi := math.Floor((x - bk.x0) / bk.size)
	fj := math.Floor((y - bk.y0) / bk.size)
	if fi < -2 || fj < -2 || fi > float64(bk.nx+1) || fj > float64(bk.ny+1) {
		return
	}
	bi, bj := int(fi), int(fj)
	i0, i1 := max(0, bi-2), min(bk.nx-1, bi+2)
	for j := max(0, bj-2); j <= min(bk.ny-1, bj+2); j++ {
		lo, hi := bk.start[j*bk.nx+i0], bk.start[j*bk.nx+i1+1]
		for k := lo; k < hi; k++ {
			dx, dy := m.srcX[k]-x, m.srcY[k]-y
			d2 := dx*dx + dy*dy
			if d2 > r2 {
				continue
			}
			d := max(math.Sqrt(d2), m.cfg.MinDistanceMetres)
			fn(int(k), m.srcW[k]*math.Exp(-m.beta*d)/(d*d))
		}
	}
}

// accumulate adds to e (one entry per group) the energy that every source
// within the cutoff sends to the point (x, y) of the model's plane.
func (m *Model) accumulate(x, y float64, e []float64) {
	bk := &m.bucket
	r2 := m.cfg.CutoffMetres * m.cfg.CutoffMetres
	dmin := m.cfg.MinDistanceMetres
	fi := math.Floor((x - bk.x0) / bk.size)
	fj := math.Floor((y - bk.y0) / bk.size)
	if fi < -2 || fj < -2 || fi > float64(bk.nx+1) || fj > float64(bk.ny+1) {
		return
	}
	bi, bj := int(fi), int(fj)
	i0, i1 := max(0, bi-2), min(bk.nx-1, bi+2)
	for j := max(0, bj-2); j <= min(bk.ny-1, bj+2); j++ {
		lo, hi := bk.start[j*bk.nx+i0], bk.start[j*bk.nx+i1+1]
		for k := lo; k < hi; k++ {
			dx, dy := m.srcX[k]-x, m.srcY[k]-y
			d2 := dx*dx + dy*dy
			if d2 > r2 {
				continue
			}
			d := max(math.Sqrt(d2), dmin)
			e[m.srcG[k]] += m.srcW[k] * math.Exp(-m.beta*d) / (d * d)
		}
	}
}

// build computes the reference energies of every cell, rows shared among up
// to GOMAXPROCS goroutines.
func (m *Model) build() {
	g, G := m.grid, len(m.groups)
	m.energy = make([]float32, g.Len()*G)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), g.NY) {
		wg.Go(func() {
			e := make([]float64, G)
			for {
				r := int(next.Add(1) - 1)
				if r >= g.NY {
					return
				}
				for c := range g.NX {
					k := r*g.NX + c
					x, y := m.frame.xy(g.Center(k))
					clear(e)
					m.accumulate(x, y, e)
					for j, v := range e {
						m.energy[k*G+j] = float32(v)
					}
				}
			}
		})
	}
	wg.Wait()
}

// Config returns the configuration in use, defaults filled in.
func (m *Model) Config() Config { return m.cfg }

// Grid returns the receiver raster.
func (m *Model) Grid() Grid { return m.grid }

// Groups returns the road groups, by index.
func (m *Model) Groups() []Group { return slices.Clone(m.groups) }

// Road returns what the model made of a road segment.
func (m *Model) Road(id string) (Road, bool) {
	i, ok := m.roadIx[id]
	if !ok {
		return Road{}, false
	}
	return m.roads[i], true
}

// Sources returns the number of point sources.
func (m *Model) Sources() int { return len(m.srcX) }

// ReferenceEnergy returns E_j (10^(L/10)) of each group at p, computed
// exactly at p (not read off the raster).
func (m *Model) ReferenceEnergy(p orb.Point) []float64 {
	e := make([]float64, len(m.groups))
	x, y := m.frame.xy(p)
	m.accumulate(x, y, e)
	return e
}

// CellEnergy returns E_j (10^(L/10)) of each group at cell i of the raster,
// as stored (float32 precision).
func (m *Model) CellEnergy(i int) []float64 {
	G := len(m.groups)
	e := make([]float64, G)
	for j := range e {
		e[j] = float64(m.energy[i*G+j])
	}
	return e
}
