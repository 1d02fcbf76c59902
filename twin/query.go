package twin

import (
	"github.com/paulmach/orb"
)

// Filter selects sensors for State.Query. Zero fields select everything.
type Filter struct {
	// Tenant is required: sensors of other tenants are never returned.
	Tenant string
	// Types keeps sensors whose entity type is listed.
	Types []string
	// ID keeps sensors whose entity id it accepts.
	ID func(id string) bool
	// Bound, when set, keeps located sensors whose location's bound meets
	// it; the spatial index answers it without visiting other sensors.
	Bound *orb.Bound
	// Geo, when set, keeps located sensors whose location it accepts (the
	// exact geometric test after Bound's coarse one).
	Geo func(orb.Geometry) bool
}

// Query calls fn with a copy of every sensor that passes f, in no
// particular order, until fn returns false. Cheap tests (tenant, type, id,
// bound) run before a sensor is copied. fn runs under the state's read lock:
// it must not call Apply.
func (s *State) Query(f Filter, fn func(Sensor) bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ti, ok := s.strs.lookup(f.Tenant)
	if !ok {
		return
	}
	var types []uint32
	if len(f.Types) > 0 {
		for _, t := range f.Types {
			if id, ok := s.strs.lookup(t); ok {
				types = append(types, id)
			}
		}
		if len(types) == 0 {
			return
		}
	}
	visit := func(idx int32) bool {
		sn := &s.sensors[idx]
		if sn.tenant != ti {
			return true
		}
		if types != nil && !containsID(types, sn.typ) {
			return true
		}
		if f.ID != nil && !f.ID(sn.id) {
			return true
		}
		if (f.Bound != nil || f.Geo != nil) && sn.loc == nil {
			return true
		}
		if f.Geo != nil && !f.Geo(sn.loc) {
			return true
		}
		return fn(s.export(sn))
	}
	if f.Bound != nil {
		tr := s.where[ti]
		if tr == nil {
			return
		}
		tr.Search(f.Bound.Min, f.Bound.Max, func(_, _ [2]float64, idx int32) bool {
			return visit(idx)
		})
		return
	}
	for i := range s.sensors {
		if !visit(int32(i)) {
			return
		}
	}
}

func containsID(ids []uint32, id uint32) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}
