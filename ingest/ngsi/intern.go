package ngsi

import "github.com/citytwin/citytwin/twin"

// names holds the attribute, type and unit names seen in nearly every payload,
// so that decoding them costs no allocation. It is built once and only read
// afterwards: safe for concurrent use. Unknown names are copied, never added,
// so a sender cannot grow it.
var names = func() map[string]string {
	m := make(map[string]string, 256)
	add := func(s string) { m[s] = s }
	for t, spec := range twin.KnownTypes {
		add(t)
		for a := range spec.Attrs {
			add(a)
		}
	}
	for _, s := range []string{
		// Relationships and common text properties of Smart Data Models.
		"refDevice", "refPointOfInterest", "refWeatherObserved", "refRoadSegment", "refGreenspace",
		"refAgriParcel", "refGarden", "refRecord", "name", "description", "source", "dataProvider",
		"airQualityLevel", "coLevel", "typeofLocation", "typeOfLocation", "laneDirection",
		"vehicleType", "vehicleSubType", "areaServed", "status", "category",
		// Generic types and attributes of IoT Agents.
		"Device", "DeviceMeasurement", "Thing", "Sensor", "WaterObserved", "FlowerBed", "Garden",
		"AgriParcel", "AgriParcelOperation", "AgriSoil", "humidity", "batteryLevel", "rssi", "value",
		"count", "state", "level", "flow", "volume",
		// UN/CEFACT unit codes.
		"2N", "GQ", "GP", "CEL", "FAH", "MTR", "CMT", "MMT", "KMH", "MTS", "KTM", "P1", "C62", "A97",
		"HPA", "D10", "N78", "D54", "LUX", "KGM", "LTR", "MQH", "E32", "DD", "KEL", "PAL", "KPA",
	} {
		add(s)
	}
	return m
}()

// intern returns b as a string, shared when it is a well-known name.
func intern(b []byte) string {
	if s, ok := names[string(b)]; ok {
		return s
	}
	return string(b)
}

func internUnit(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return intern(b)
}
