package sim_test

import (
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/citytwin/citytwin/ingest/iota"
	"github.com/citytwin/citytwin/ingest/ngsi"
	"github.com/citytwin/citytwin/sim"
	"github.com/citytwin/citytwin/twin"
)

// mixedFleet speaks every protocol.
func mixedFleet(count int) *sim.Fleet {
	return sim.NewFleet(sim.FleetConfig{Count: count, Seed: 21, Tenant: "milano", Protocols: sim.Protocols})
}

// provisioned decodes the fleet's groups and devices as the provisioning
// API does, and indexes them by apikey and device id.
func provisioned(t *testing.T, f *sim.Fleet) (map[string]iota.Group, map[string]iota.Device) {
	t.Helper()
	groups, devices := map[string]iota.Group{}, map[string]iota.Device{}
	for _, v := range f.Vendors(nil) {
		body, _ := json.Marshal(map[string]any{"services": []iota.Group{v.Group}})
		gs, err := iota.DecodeGroups(body, v.Group.Service, v.Group.ServicePath)
		if err != nil {
			t.Fatalf("group %s: %v", v.Group.APIKey, err)
		}
		groups[v.Group.APIKey] = gs[0]
		body, _ = json.Marshal(map[string]any{"devices": v.Devices})
		ds, err := iota.DecodeDevices(body, v.Group.Service, v.Group.ServicePath)
		if err != nil {
			t.Fatalf("devices of %s: %v", v.Group.APIKey, err)
		}
		if len(ds) != len(v.Sensors) {
			t.Fatalf("%s: %d devices, %d sensors", v.Group.APIKey, len(ds), len(v.Sensors))
		}
		for _, d := range ds {
			devices[d.APIKey+"/"+d.DeviceID] = d
		}
	}
	return groups, devices
}

func TestProtocols(t *testing.T) {
	f := mixedFleet(90)
	topicRE := regexp.MustCompile(`^/(ul|json)/milano-(acoustics|airlab|trafficount|irrigo|meteo)-(ul|json)/milano-\d+/attrs$`)
	vendorOf := map[string]string{sim.TypeNoise: "acoustics", sim.TypeAir: "airlab", sim.TypeTraffic: "trafficount", sim.TypeSoil: "irrigo", sim.TypeWeather: "meteo"}
	controllers := 0
	for i, s := range f.Sensors() {
		if want := sim.Protocols[i%3]; s.Protocol != want {
			t.Errorf("%s: protocol %s, want %s", s.ID, s.Protocol, want)
		}
		if s.Protocol == sim.ProtocolNGSI {
			if s.APIKey != "" || s.Vendor != "" || s.Controller || f.Topic(i) != "ngsi/milano/"+s.Domain+"/"+s.LocalID {
				t.Errorf("NGSI sensor %+v, topic %s", s, f.Topic(i))
			}
			continue
		}
		g := topicRE.FindStringSubmatch(f.Topic(i))
		if g == nil || g[1] != string(s.Protocol) || g[3] != string(s.Protocol) || s.Vendor != vendorOf[s.Type] ||
			s.APIKey != "milano-"+s.Vendor+"-"+string(s.Protocol) || !regexp.MustCompile("/"+s.LocalID+"/").MatchString(f.Topic(i)) {
			t.Errorf("%s: topic %s, vendor %s, apikey %s", s.ID, f.Topic(i), s.Vendor, s.APIKey)
		}
		if s.Controller != (s.Type == sim.TypeSoil) {
			t.Errorf("%s: controller %v", s.ID, s.Controller)
		}
		if s.Controller {
			controllers++
		}
	}
	if controllers == 0 {
		t.Error("no irrigation controller in a mixed fleet of 90")
	}
	// Placement does not depend on the protocols.
	ngsiOnly := sim.NewFleet(sim.FleetConfig{Count: 90, Seed: 21, Tenant: "milano"})
	for i, s := range ngsiOnly.Sensors() {
		m := f.Sensors()[i]
		if s.ID != m.ID || s.Lon != m.Lon || s.Lat != m.Lat || s.RefGreenspace != m.RefGreenspace {
			t.Fatalf("sensor %d moved with the protocols: %+v vs %+v", i, s, m)
		}
	}
}

// TestIoTAgentReadingsLandLikeNGSI maps every IoT Agent reading through
// ingest/iota exactly as citytwin does (topic, provisioning, measures, NGSI
// mapping, validation) and checks that the twin gets the same observation
// as from the sensor's NGSI-v2 reading: id, type, tenant, time, location,
// relationships, every value with its unit.
func TestIoTAgentReadingsLandLikeNGSI(t *testing.T) {
	f := mixedFleet(120)
	groups, devices := provisioned(t, f)
	times := []time.Time{at(0, 3, 0), at(0, 8, 0).Add(17 * time.Millisecond), at(1, 13, 5)}
	n := 0
	for i, s := range f.Sensors() {
		if s.Protocol == sim.ProtocolNGSI {
			continue
		}
		for _, tm := range times {
			arrival := tm.Add(time.Second)
			topic, payload := f.Reading(i, tm)
			top, err := iota.ParseTopic(topic)
			if err != nil {
				t.Fatal(err)
			}
			grp, ok := groups[top.APIKey]
			dev, ok2 := devices[top.APIKey+"/"+top.DeviceID]
			if !ok || !ok2 {
				t.Fatalf("%s: topic %s names no provisioned group or device", s.ID, topic)
			}
			if p := iota.ProtocolOf(&dev, &grp); p.String() != string(s.Protocol) {
				t.Errorf("%s: provisioned protocol %v", s.ID, p)
			}
			m, err := iota.ParseMeasures(top, iota.ResolveProtocol(top, payload, &dev, &grp, iota.ProtocolUL), payload)
			if err != nil {
				t.Fatalf("%s: %s: %v", s.ID, payload, err)
			}
			got, errs := iota.Map(m, &dev, &grp, arrival)
			if len(errs) > 0 || len(got) != 1 {
				t.Fatalf("%s: %s mapped to %d observations, errors %v", s.ID, payload, len(got), errs)
			}
			_, ngsiPayload := f.ReadingAs(i, tm, sim.ShapeV2Normalized)
			_, want, ierrs := ngsi.Decode(ngsiPayload, ngsi.Input{Tenant: "milano", Arrival: arrival})
			if len(ierrs) > 0 || len(want) != 1 {
				t.Fatalf("%s: NGSI reading: %v", s.ID, ierrs)
			}
			g, w := got[0], want[0]
			if g.Tenant != w.Tenant || g.EntityID != w.EntityID || g.EntityType != w.EntityType || g.Domain != w.Domain ||
				!g.Time.Equal(w.Time) || g.TimeSource != twin.TimeInstant {
				t.Errorf("%s: IoT Agent %+v\nNGSI %+v", s.ID, g, w)
			}
			if !reflect.DeepEqual(g.Location, w.Location) || !maps.Equal(g.Refs, w.Refs) {
				t.Errorf("%s: location %v refs %v, NGSI %v %v", s.ID, g.Location, g.Refs, w.Location, w.Refs)
			}
			ga, wa := attrMap(g.Attrs), attrMap(w.Attrs)
			if !maps.Equal(ga, wa) {
				t.Errorf("%s: attributes\n%v\nNGSI\n%v", s.ID, ga, wa)
			}
			for name, v := range f.Values(i, tm) {
				a, ok := g.Attr(name)
				if !ok || (a.Kind == twin.KindNumber && a.Num != v) || (a.Kind == twin.KindBool && a.Bool != v) {
					t.Errorf("%s: %s = %+v, Values %v", s.ID, name, a, v)
				}
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("no IoT Agent reading checked")
	}
}

func attrMap(as []twin.Attr) map[string]twin.Attr {
	m := map[string]twin.Attr{}
	for _, a := range as {
		m[a.Name] = a
	}
	return m
}

func TestVendors(t *testing.T) {
	f := mixedFleet(400)
	seen := map[int]bool{}
	var keys []string
	for _, v := range f.Vendors(nil) {
		keys = append(keys, v.Group.APIKey)
		if v.Group.Service != "milano" || v.Group.ServicePath == "" || v.Group.Autoprovision == nil || *v.Group.Autoprovision {
			t.Errorf("group %+v", v.Group)
		}
		for k, i := range v.Sensors {
			s := f.Sensors()[i]
			d := v.Devices[k]
			if seen[i] || s.APIKey != v.Group.APIKey || d.DeviceID != s.LocalID || d.EntityName != s.ID || d.EntityType != s.Type {
				t.Errorf("%s: device %+v in group %s", s.ID, d, v.Group.APIKey)
			}
			seen[i] = true
			cmds := len(d.Commands) == 1 && d.Commands[0].Name == sim.CommandOpenValve
			if cmds != s.Controller || (len(d.Commands) > 0 && !cmds) {
				t.Errorf("%s: commands %+v, controller %v", s.ID, d.Commands, s.Controller)
			}
		}
	}
	if !slices.IsSorted(keys) || len(keys) != 10 {
		t.Errorf("apikeys %v: want the 10 of 5 vendors × 2 protocols, sorted", keys)
	}
	for i, s := range f.Sensors() {
		if seen[i] != (s.Protocol != sim.ProtocolNGSI) {
			t.Errorf("%s (%s): listed %v", s.ID, s.Protocol, seen[i])
		}
	}
	// A subset lists only the groups it needs.
	var only []int
	for i, s := range f.Sensors() {
		if s.Type == sim.TypeNoise && s.Protocol == sim.ProtocolUL && len(only) < 3 {
			only = append(only, i)
		}
	}
	vs := f.Vendors(only)
	if len(vs) != 1 || !slices.Equal(vs[0].Sensors, only) || vs[0].Group.APIKey != "milano-acoustics-ul" {
		t.Errorf("Vendors(%v) = %+v", only, vs)
	}
	if vs := sim.NewFleet(sim.FleetConfig{Count: 20}).Vendors(nil); len(vs) != 0 {
		t.Errorf("an NGSI fleet has vendors: %+v", vs)
	}
}

func TestProtocolConfig(t *testing.T) {
	bad := []sim.FleetConfig{
		{Protocols: []sim.Protocol{}},
		{Protocols: []sim.Protocol{"mqtt"}},
		{Protocols: []sim.Protocol{sim.ProtocolUL}, Tenant: "b-1"},
		{Protocols: []sim.Protocol{sim.ProtocolJSON}, Tenant: "Milano"},
		{Protocols: []sim.Protocol{sim.ProtocolUL}, Tenant: "a234567890123456789012345678901234567890x"},
	}
	for _, c := range bad {
		if err := c.Validate(); !errors.Is(err, sim.ErrInvalidConfig) {
			t.Errorf("Validate(%+v) = %v, want ErrInvalidConfig", c, err)
		}
	}
	good := []sim.FleetConfig{
		{Protocols: []sim.Protocol{sim.ProtocolNGSI}, Tenant: "b-1"}, // NGSI tenants are topic levels
		{Protocols: sim.Protocols},
		{Protocols: []sim.Protocol{sim.ProtocolUL}, Tenant: "b1a2_ct_0"},
	}
	for _, c := range good {
		if err := c.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v", c, err)
		}
	}
}

func TestIoTAgentPayloads(t *testing.T) {
	f := sim.NewFleet(sim.FleetConfig{Count: 40, Seed: 3, Protocols: []sim.Protocol{sim.ProtocolUL, sim.ProtocolJSON}})
	tm := time.Date(2025, 5, 6, 6, 0, 0, 0, time.UTC)
	ul := regexp.MustCompile(`^2025-05-06T06:00:00\.000Z(\|[a-z]\|(-?[0-9.]+|true|false))+$`)
	js := regexp.MustCompile(`^\{"TimeInstant":"2025-05-06T06:00:00\.000Z"(,"[a-z]":(-?[0-9.]+|true|false))+\}$`)
	for i, s := range f.Sensors() {
		_, p := f.Reading(i, tm)
		re := ul
		if s.Protocol == sim.ProtocolJSON {
			re = js
		}
		if !re.Match(p) {
			t.Errorf("%s (%s): %s", s.ID, s.Protocol, p)
		}
		// Far smaller than the NGSI shapes.
		if len(p) > 120 {
			t.Errorf("%s: %d bytes", s.ID, len(p))
		}
	}
}
