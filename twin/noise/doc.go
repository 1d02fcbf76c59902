// Package noise is the noise arithmetic of the twin's analytics and what-if
// scenarios: decibel sums and means, Lday/Levening/Lnight/Lden from hourly
// LAeq, hours above the Italian zone limits, and the CNOSSOS-EU road emission
// that turns a traffic change into a level change at the receivers.
//
// Formulas, with reference/domain.md sections:
//
//   - §1 energetic sum L = 10·lg Σ 10^(Lᵢ/10) (Sum), energetic mean (Mean),
//     Leq over sub-periods 10·lg((1/T)·Σ tᵢ·10^(Lᵢ/10)) (Leq).
//   - §2 Lden = 10·lg[(1/24)·(12·10^(Ld/10) + 4·10^((Le+5)/10) +
//     8·10^((Ln+10)/10))] (Directive 2002/49/EC Annex I), the weights being
//     the lengths of the configured Periods (EU: 07–19, 19–23, 23–07).
//   - §3 CNOSSOS-EU (Directive (EU) 2015/996): rolling L_WR = A_R + B_R·lg(v/70),
//     propulsion L_WP = A_P + B_P·(v−70)/70 per octave band and vehicle
//     category, line source L_W′ = L_W + 10·lg(Q/(1000·v)); a flow change by
//     ratio r at unchanged speed and mix is ΔL = 10·lg(r) (−1.55 dB for 0.7).
//   - §4 a receiver's new level is the energetic re-sum of its contributions
//     shifted by their ΔL (ReSum).
//   - §5 DPCM 14/11/1997 classes I–VI (DPCMClasses) and hourly exceedances of
//     a day/night Limit.
//
// Units: levels in dB, A-weighted dB(A) where they are LAeq or Lden; flows in
// vehicles per hour; speeds in km/h; sound power per metre in dB re 1 pW/m.
// Times are instants (time.Time); periods and limits split them by the local
// wall clock of a time.Location, Europe/Rome by default, so daylight-saving
// days have 23 or 25 hours.
//
// The package does no I/O, keeps no state and starts no goroutines; every
// function is safe for concurrent use. Exported tables (DPCMClasses,
// CNOSSOS2015, …) are data to read, not to modify. Bad input is reported as
// an error wrapping a *FieldError that names the field and the rule.
package noise
