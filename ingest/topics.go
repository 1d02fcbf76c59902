package ingest

import (
	"strings"
	"time"

	"github.com/citytwin/citytwin/ingest/ngsi"
	"github.com/citytwin/citytwin/twin"
)

// NGSIDecoder decodes topics that carry whole NGSI-LD / NGSI-v2 entities,
// arrays of them, or notifications (default subscription "ngsi/#").
//
// The tenant is the topic's second level when present ("ngsi/milano/noise/s42"
// → "milano"), otherwise twin.DefaultTenant. A tenant must be 1–64 characters
// of letters, digits, '_', '-' or '.', as Fiware-Service names are.
type NGSIDecoder struct{}

// Decode implements Decoder.
func (NGSIDecoder) Decode(topic string, payload []byte, arrival time.Time) ([]twin.Observation, []*twin.InputError) {
	tenant, ok := TenantOf(topic)
	if !ok {
		return nil, []*twin.InputError{twin.Errorf(twin.ReasonBadTopic, "", "",
			"the tenant (second topic level) must be 1-64 letters, digits, '_', '-' or '.'")}
	}
	_, obs, errs := ngsi.Decode(payload, ngsi.Input{Tenant: tenant, Arrival: arrival})
	return obs, errs
}

// TenantOf returns the tenant named by a topic's second level.
func TenantOf(topic string) (string, bool) {
	_, rest, found := strings.Cut(topic, "/")
	if !found {
		return twin.DefaultTenant, true
	}
	tenant, _, _ := strings.Cut(rest, "/")
	if tenant == "" {
		return twin.DefaultTenant, true
	}
	if len(tenant) > 64 {
		return "", false
	}
	for i := 0; i < len(tenant); i++ {
		c := tenant[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return "", false
		}
	}
	return tenant, true
}
