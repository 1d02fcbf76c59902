package geo

import "math"

// WGS84 ellipsoid and UTM constants.
const (
	wgs84A  = 6378137.0
	wgs84F  = 1 / 298.257223563
	utmK0   = 0.9996
	utmE0   = 500000.0
	zone32L = 9.0 // central meridian of UTM zone 32, degrees
)

// Krüger series coefficients for the inverse transverse Mercator projection
// (Karney 2011, "Transverse Mercator with an accuracy of a few nanometers",
// eqs. 35-36; the same to fourth order in n as the USGS/Wikipedia UTM
// formulas). Sub-millimetre within a UTM zone.
var (
	utmN = wgs84F / (2 - wgs84F)
	utmA = wgs84A / (1 + utmN) * (1 + utmN*utmN/4 + utmN*utmN*utmN*utmN/64)

	utmBeta = [4]float64{
		utmN/2 - 2*utmN*utmN/3 + 37*utmN*utmN*utmN/96 - utmN*utmN*utmN*utmN/360,
		utmN*utmN/48 + utmN*utmN*utmN/15 - 437*utmN*utmN*utmN*utmN/1440,
		17*utmN*utmN*utmN/480 - 37*utmN*utmN*utmN*utmN/840,
		4397 * utmN * utmN * utmN * utmN / 161280,
	}
	utmDelta = [4]float64{
		2*utmN - 2*utmN*utmN/3 - 2*utmN*utmN*utmN + 116*utmN*utmN*utmN*utmN/45,
		7*utmN*utmN/3 - 8*utmN*utmN*utmN/5 - 227*utmN*utmN*utmN*utmN/45,
		56*utmN*utmN*utmN/15 - 136*utmN*utmN*utmN*utmN/35,
		4279 * utmN * utmN * utmN * utmN / 630,
	}
)

// UTM32NToWGS84 converts easting and northing in metres in UTM zone 32N
// (EPSG:32632) to WGS84 longitude and latitude in degrees.
func UTM32NToWGS84(easting, northing float64) (lon, lat float64) {
	xi := northing / (utmK0 * utmA)
	eta := (easting - utmE0) / (utmK0 * utmA)
	xi1, eta1 := xi, eta
	for j := 1; j <= 4; j++ {
		b := utmBeta[j-1]
		fj := 2 * float64(j)
		xi1 -= b * math.Sin(fj*xi) * math.Cosh(fj*eta)
		eta1 -= b * math.Cos(fj*xi) * math.Sinh(fj*eta)
	}
	chi := math.Asin(math.Sin(xi1) / math.Cosh(eta1))
	phi := chi
	for j := 1; j <= 4; j++ {
		phi += utmDelta[j-1] * math.Sin(2*float64(j)*chi)
	}
	lambda := math.Atan2(math.Sinh(eta1), math.Cos(xi1))
	return zone32L + lambda*180/math.Pi, phi * 180 / math.Pi
}
