package air

import "fmt"

// Pollutant attribute names, as in Smart Data Models AirQualityObserved and
// twin.KnownTypes.
const (
	PM10    = "pm10"
	PM25    = "pm25"
	NO2     = "no2"
	O3      = "o3"
	SO2     = "so2"
	CO      = "co"
	Benzene = "c6h6"
)

// Averaging is the averaging period a standard applies to.
type Averaging int

// Averaging periods.
const (
	// Hourly: each hourly mean.
	Hourly Averaging = iota + 1
	// Daily: each local calendar day's mean (see Config.MinDayHours).
	Daily
	// MaxDaily8h: each day's maximum 8-hour running mean (Directive
	// 2008/50/EC Annex VII; see Config.MaxDaily8h).
	MaxDaily8h
	// Annual: the mean over the calendar year.
	Annual
)

// String returns "1 h", "24 h", "max daily 8-h mean" or "annual".
func (a Averaging) String() string {
	switch a {
	case Hourly:
		return "1 h"
	case Daily:
		return "24 h"
	case MaxDaily8h:
		return "max daily 8-h mean"
	case Annual:
		return "annual"
	}
	return fmt.Sprintf("Averaging(%d)", int(a))
}

// Sources of the standards.
const (
	SourceEU2008 = "EU 2008/50/EC"
	SourceEU2024 = "EU 2024/2881"
	SourceWHO    = "WHO AQG 2021"
)

// NoAllowance is Standard.AllowedPerYear when the source defines no count:
// annual means, where the mean itself is compared.
const NoAllowance = -1

// Standard is one air-quality limit, target or guideline value.
type Standard struct {
	// ID names the standard, e.g. "eu2008-no2-1h".
	ID string
	// Source is SourceEU2008, SourceEU2024 or SourceWHO.
	Source string
	// Pollutant is the attribute name (PM10, NO2, …).
	Pollutant string
	// Averaging is the period the value applies to.
	Averaging Averaging
	// Value is the concentration not to be exceeded, µg/m³ for every
	// pollutant, CO included: the sources give CO in mg/m³ (10 mg/m³ is
	// 10000 here) and the twin stores co in µg/m³ (twin.KnownTypes).
	Value float64
	// AllowedPerYear is the number of exceedances (hours or days) allowed
	// per calendar year; 0 means none; NoAllowance for annual means.
	AllowedPerYear int
	// Verified is false where reference/domain.md marks the value or its
	// count as unverified, or its sources disagree.
	Verified bool
	// Note qualifies the value (target rather than limit, derived counts).
	Note string
}

// whoCount is the note on the WHO short-term guidelines' counts.
const whoCount = "WHO gives the short-term AQG as the 99th percentile of a year's values; " +
	"3 allowed exceedances is our derivation (with 365 days, the nearest-rank 99th percentile is the 4th highest value)"

// Standards are the limit values of Directive 2008/50/EC, the limit values of
// Directive (EU) 2024/2881 to be met by 2030, and the WHO Global Air Quality
// Guidelines 2021 (AQG levels only; the interim targets and the O3
// peak-season guideline, 60 µg/m³, are not included), as
// reference/domain.md §6 gives them. Values in µg/m³.
var Standards = []Standard{
	{ID: "eu2008-pm10-24h", Source: SourceEU2008, Pollutant: PM10, Averaging: Daily, Value: 50, AllowedPerYear: 35, Verified: true},
	{ID: "eu2008-pm10-year", Source: SourceEU2008, Pollutant: PM10, Averaging: Annual, Value: 40, AllowedPerYear: NoAllowance, Verified: true},
	{ID: "eu2008-pm25-year", Source: SourceEU2008, Pollutant: PM25, Averaging: Annual, Value: 25, AllowedPerYear: NoAllowance, Verified: true},
	{ID: "eu2008-no2-1h", Source: SourceEU2008, Pollutant: NO2, Averaging: Hourly, Value: 200, AllowedPerYear: 18, Verified: true},
	{ID: "eu2008-no2-year", Source: SourceEU2008, Pollutant: NO2, Averaging: Annual, Value: 40, AllowedPerYear: NoAllowance, Verified: true},
	{ID: "eu2008-o3-8h", Source: SourceEU2008, Pollutant: O3, Averaging: MaxDaily8h, Value: 120, AllowedPerYear: 25, Verified: true,
		Note: "target value, not a limit value; 25 days per calendar year averaged over 3 years"},
	{ID: "eu2008-so2-1h", Source: SourceEU2008, Pollutant: SO2, Averaging: Hourly, Value: 350, AllowedPerYear: 24, Verified: true},
	{ID: "eu2008-so2-24h", Source: SourceEU2008, Pollutant: SO2, Averaging: Daily, Value: 125, AllowedPerYear: 3, Verified: true},
	{ID: "eu2008-co-8h", Source: SourceEU2008, Pollutant: CO, Averaging: MaxDaily8h, Value: 10000, AllowedPerYear: 0, Verified: true,
		Note: "10 mg/m³"},

	{ID: "eu2024-pm25-year", Source: SourceEU2024, Pollutant: PM25, Averaging: Annual, Value: 10, AllowedPerYear: NoAllowance, Verified: true},
	{ID: "eu2024-pm25-24h", Source: SourceEU2024, Pollutant: PM25, Averaging: Daily, Value: 25, AllowedPerYear: 18,
		Note: "allowed count unverified"},
	{ID: "eu2024-pm10-year", Source: SourceEU2024, Pollutant: PM10, Averaging: Annual, Value: 20, AllowedPerYear: NoAllowance, Verified: true},
	{ID: "eu2024-pm10-24h", Source: SourceEU2024, Pollutant: PM10, Averaging: Daily, Value: 45, AllowedPerYear: 18,
		Note: "allowed count unverified"},
	{ID: "eu2024-no2-year", Source: SourceEU2024, Pollutant: NO2, Averaging: Annual, Value: 20, AllowedPerYear: NoAllowance, Verified: true},
	{ID: "eu2024-no2-24h", Source: SourceEU2024, Pollutant: NO2, Averaging: Daily, Value: 50, AllowedPerYear: 18,
		Note: "allowed count unverified"},
	{ID: "eu2024-no2-1h", Source: SourceEU2024, Pollutant: NO2, Averaging: Hourly, Value: 200, AllowedPerYear: 3,
		Note: "allowed count unverified"},
	{ID: "eu2024-c6h6-year", Source: SourceEU2024, Pollutant: Benzene, Averaging: Annual, Value: 3.4, AllowedPerYear: NoAllowance, Verified: true},

	{ID: "who2021-pm25-year", Source: SourceWHO, Pollutant: PM25, Averaging: Annual, Value: 5, AllowedPerYear: NoAllowance, Verified: true},
	{ID: "who2021-pm25-24h", Source: SourceWHO, Pollutant: PM25, Averaging: Daily, Value: 15, AllowedPerYear: 3, Verified: true, Note: whoCount},
	{ID: "who2021-pm10-year", Source: SourceWHO, Pollutant: PM10, Averaging: Annual, Value: 15, AllowedPerYear: NoAllowance, Verified: true},
	{ID: "who2021-pm10-24h", Source: SourceWHO, Pollutant: PM10, Averaging: Daily, Value: 45, AllowedPerYear: 3, Verified: true, Note: whoCount},
	{ID: "who2021-no2-year", Source: SourceWHO, Pollutant: NO2, Averaging: Annual, Value: 10, AllowedPerYear: NoAllowance, Verified: true},
	{ID: "who2021-no2-24h", Source: SourceWHO, Pollutant: NO2, Averaging: Daily, Value: 25, AllowedPerYear: 3, Verified: true, Note: whoCount},
	{ID: "who2021-o3-8h", Source: SourceWHO, Pollutant: O3, Averaging: MaxDaily8h, Value: 100, AllowedPerYear: 3, Verified: true, Note: whoCount},
	{ID: "who2021-so2-24h", Source: SourceWHO, Pollutant: SO2, Averaging: Daily, Value: 40, AllowedPerYear: 3,
		Note: "sources disagree: 40 (Wikipedia), 50 (airclim table); " + whoCount},
	{ID: "who2021-co-24h", Source: SourceWHO, Pollutant: CO, Averaging: Daily, Value: 4000, AllowedPerYear: 3, Verified: true,
		Note: "4 mg/m³; " + whoCount},
}

// StandardsFor returns the standards of a pollutant, in table order.
func StandardsFor(pollutant string) []Standard {
	var out []Standard
	for _, s := range Standards {
		if s.Pollutant == pollutant {
			out = append(out, s)
		}
	}
	return out
}
