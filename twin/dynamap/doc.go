// Package dynamap computes a dynamic road-traffic noise map by the DYNAMAP
// method (LIFE13 ENV/IT/001254; domain.md §4): a few static reference maps,
// one per group of roads, rescaled at run time by the level changes that the
// noise sensors of each group measure.
//
// # The method
//
// Roads are grouped by a non-acoustic parameter, x = lg(daily traffic flow in
// veh/day), into at most Config.Groups groups (default 6, as in DYNAMAP) by
// quantiles of x: the thresholds are the values of x at ranks ⌊i·n/G⌋ of the
// sorted x (i = 1…G−1); a road's group is the number of thresholds ≤ its x.
// Equal thresholds (and one equal to the smallest x) are merged, so that roads
// with the same x always share a group and no group is empty: a city with
// only three distinct flows gets three groups.
//
// For each group j a reference map E_j(k), the sound energy 10^(L/10) at
// receiver k of the group's roads alone, is computed once by New. At run time
// Calibration.Update takes each sensor's current LAeq and computes
//
//	δ_j = (1/n_j) Σ_{s ∈ j} (L_meas,s − L_ref,s)          (dB)
//	L(t, k) = 10·lg Σ_j E_j(k)·10^(δ_j/10)                 (dB(A))
//
// where L_ref,s = 10·lg Σ_j E_j(s) is the reference level at the sensor's own
// point (evaluated exactly there, not read off the grid) and the mean is
// arithmetic over the group's reporting sensors. DYNAMAP averages the four
// sensors of each group; domain.md §4 notes that its exact averaging was not
// retrieved, so the arithmetic mean of level differences is our choice. A
// group with no reporting sensor keeps its reference (δ = 0); Map.Groups says
// so per group. The held-out error (Map.HeldOut) is a leave-one-out over the
// reporting sensors: each sensor's group δ is recomputed without it and the
// level predicted at its point is compared with its measurement.
//
// # Emission (domain.md §3)
//
// A road's daily flow Q_d (veh/day) comes from the caller's measured flows
// (by road id) or else from Config.ClassFlow by road class, times lanes/2 when
// the lane count is known. Its emission L_W′ (A-weighted sound power per metre
// of road, dB re 1 pW/m) is Config.Emission(road, Q_d); the default,
// DefaultEmission, is a single-category (light vehicles) overall A-weighted
// CNOSSOS-EU rule at the road's speed limit (50 km/h when unknown). The full
// octave-band CNOSSOS model plugs in through Config.Emission.
//
// # Propagation
//
// Each road line is split into point sources at most Config.StepMetres apart
// (default 10 m): a segment of length ℓ becomes n = ⌈ℓ/step⌉ sources at the
// midpoints of its n equal pieces, each of power L_W′ + 10·lg(ℓ/n). A source
// of power L_W at distance d contributes L_W − A with
//
//	A = 20·lg(d) + 11 + α·d                                  (dB)
//
// (free-field spherical divergence of a point source, 10·lg(4π) ≈ 11 dB, plus
// atmospheric absorption α = Config.AirAbsorption, default 0.005 dB/m, a
// mid-frequency (500 Hz–1 kHz) value at 20 °C and 70 % humidity: an
// assumption). d is clamped below at Config.MinDistanceMetres (default 5 m),
// so that receivers on a road stay finite, and sources farther than
// Config.CutoffMetres (default 500 m) are ignored. Without absorption and
// cutoff, the sum along a long straight road tends to the line-source level
// L_W′ − 11 + 10·lg(π/d) (that is L_W′ − 10·lg(4d) for 4π ≈ 10^1.1): with
// equally spaced sources the error is below 0.02 dB while d ≥ step, and
// ±0.4 dB at d = step/2. The tests check the sum, absorption and cutoff
// included, against an independent integration over the angle of view.
//
// The model has no screening by buildings, no ground effect, no reflections,
// no meteorological correction and no height: it is a reference-shape model
// (how a group's energy spreads around its roads). The absolute level comes
// from the sensors: a group's reference is shifted until it matches what its
// sensors measure. Near-road receivers in built-up streets are thus
// underestimated (no canyon reflections) and receivers behind building rows
// overestimated (no screening).
//
// Receivers are the centres of a regular lon/lat raster over Config.Bound
// (default the city's bound) with cells of Config.CellMetres (default 100 m),
// the degree steps computed at the raster's central latitude. The source
// search uses buckets of half the cutoff over the sources' points.
//
// # Units
//
// Coordinates are WGS84 [lon, lat] in degrees. Internally, everything is
// projected on one local equirectangular plane around the raster's centre
// (WGS84 radii of curvature at its latitude): over ±10 km the scale error is
// below 0.2 %, far under the model's own uncertainty. Distances are metres,
// flows vehicles per day, levels A-weighted decibels (dB(A)), emissions dB re
// 1 pW per metre, energies 10^(L/10) (dimensionless).
//
// # Concurrency
//
// The package does no I/O. A *Model is immutable once New returns, and so is
// a *Calibration once Calibrate returns: both are safe for concurrent use by
// any number of goroutines. New uses up to GOMAXPROCS goroutines while it
// builds the reference maps and waits for them. A *Map is a plain value that
// the caller owns.
package dynamap
