// Package air holds the air-quality standards and the computations the
// twin's analytics and what-if scenarios need: daily means and maximum daily
// 8-hour means from hourly means with the EU data-capture rules, exceedance
// counts against the limit tables, and the NO2 traffic scenario.
//
// Formulas and sources, with reference/domain.md §6:
//
//   - Standards: Directive 2008/50/EC limit and target values, Directive
//     (EU) 2024/2881 limit values for 2030, WHO Global AQG 2021 (AQG levels).
//     Entries that domain.md marks unverified have Verified false.
//   - Daily mean: the mean of a local day's hourly means, valid with ≥ 18 of
//     them (75 %; Config.MinDayHours).
//   - Maximum daily 8-hour mean (Directive 2008/50/EC Annex VII): 8-hour
//     running means updated each hour, each valid with ≥ 6 hours and
//     assigned to the day it ends in; a day's maximum is valid with ≥ 18
//     valid running means (the Annex's 75 % rule as recalled, unverified).
//   - NO2 scenario: C′ = B + I·r = C·(b + (1 − b)·r) with the background share
//     b = B/C an explicit, stated assumption (Background): 0.5 by default, or
//     given, or C_background/C_roadside from two stations clamped to 0–1.
//
// Exceedances are strictly above the value. Allowed counts are per calendar
// year: Assess compares them only over a one-year Window, and reports counts
// only for shorter ones.
//
// Units: concentrations in µg/m³ for every pollutant, CO included (the
// sources give CO in mg/m³; twin.KnownTypes stores co in µg/m³, so 10 mg/m³
// is 10000). Times are instants; days are local calendar days of a
// time.Location, Europe/Rome by default, so daylight-saving days have 23 or
// 25 hours.
//
// The package does no I/O, keeps no state and starts no goroutines; every
// function is safe for concurrent use. Standards is data to read, not to
// modify. Bad input is reported as an error wrapping a *FieldError that
// names the field and the rule.
package air
