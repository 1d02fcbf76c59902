// Package geo holds the city's cartography: administrative areas at two
// levels (districts and neighbourhoods), road segments, green areas and
// irrigation zones. It loads layers from GeoJSON files, validates and repairs
// their geometry, indexes them and links sensors to the features around them.
//
// # Units
//
// Coordinates are WGS84 [lon, lat] in degrees (orb.Point{lon, lat}).
// Sources in UTM zone 32N (EPSG:32632, common in Italian open data) are
// reprojected to WGS84 at load time. Distances are metres, measured on a local
// equirectangular projection around the query point using the WGS84 radii of
// curvature at its latitude (error well under 0.1% at city scale).
//
// # Load time and query time
//
// Geometry is validated and repaired only at load time, with go-geos
// (IsValid, MakeValid). go-geos panics by design on some malformed input, so
// no per-message data ever reaches it: every query (point in polygon,
// nearest road, bbox and polygon intersection, Link) is pure Go on orb
// values, a static STR-packed R-tree of this package (one per area layer,
// one over all road segments) and, per area, its edges bucketed into
// horizontal bands so that point-in-polygon stays fast on polygons with
// thousands of vertices. Points on an area's boundary count as inside; when
// areas of one layer overlap, Containing returns the smallest. The Report
// returned
// by Load, LoadDir and NewCity says, per layer, how many features were read,
// loaded, repaired and dropped, and why.
//
// # Configuration
//
// LoadDir reads dir/city.json, for example:
//
//	{"layers": [
//	  {"kind": "neighbourhood", "path": "nil.geojson", "id_prop": "ID_NIL", "name_prop": "NIL"},
//	  {"kind": "district", "path": "municipi.geojson", "id_prop": "MUNICIPIO"},
//	  {"kind": "road", "path": "roads.geojson", "name_prop": "name",
//	   "road_class_prop": "highway", "lanes_prop": "lanes", "speed_prop": "maxspeed"},
//	  {"kind": "greenarea", "path": "parks.geojson", "crs": "EPSG:32632"}
//	]}
//
// # Concurrency
//
// A *City is immutable once built: all its methods are safe for concurrent
// use by any number of goroutines without locking. The *Feature values it
// returns are shared; callers must not modify them (or their Geometry and
// Props).
package geo
