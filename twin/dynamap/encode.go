package dynamap

import (
	"math"
	"strconv"
	"time"
)

// AppendJSON appends the map's compact grid form to dst:
//
//	{"bbox":[minLon,minLat,maxLon,maxLat],"nx":120,"ny":118,"cellMetres":100,
//	 "origin":"north-west","time":"2026-11-22T10:00:00Z",
//	 "levels":[null,52.3,…],
//	 "groups":[{"group":0,"roads":812,"sensors":4,"reporting":4,"deltaDb":1.25,"reference":false}],
//	 "heldOut":{"n":24,"biasDb":0.1,"maeDb":1.2,"rmseDb":1.6,"shareWithin3Db":0.92},
//	 "sensors":{"reporting":24,"ignored":0,"unused":1}}
//
// bbox is the raster's extent; levels holds ny rows of nx cells, row-major
// from the north-west corner (the first value is the north-westernmost
// cell), in dB(A) rounded to 0.1, null where no road within the cutoff
// contributes. deltaDb is rounded to 0.01 dB, the held-out errors to 0.01.
func (mp *Map) AppendJSON(dst []byte) []byte {
	g := mp.Grid
	dst = append(dst, `{"bbox":[`...)
	dst = appendCoord(dst, g.Bound.Min[0])
	dst = append(dst, ',')
	dst = appendCoord(dst, g.Bound.Min[1])
	dst = append(dst, ',')
	dst = appendCoord(dst, g.Bound.Max[0])
	dst = append(dst, ',')
	dst = appendCoord(dst, g.Bound.Max[1])
	dst = append(dst, `],"nx":`...)
	dst = strconv.AppendInt(dst, int64(g.NX), 10)
	dst = append(dst, `,"ny":`...)
	dst = strconv.AppendInt(dst, int64(g.NY), 10)
	dst = append(dst, `,"cellMetres":`...)
	dst = strconv.AppendFloat(dst, g.CellMetres, 'f', -1, 64)
	dst = append(dst, `,"origin":"north-west","time":`...)
	dst = appendTime(dst, mp.Time)
	dst = append(dst, `,"levels":[`...)
	for i, v := range mp.Levels {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendLevel(dst, v)
	}
	dst = append(dst, `],"groups":[`...)
	for i, gs := range mp.Groups {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"group":`...)
		dst = strconv.AppendInt(dst, int64(gs.Group), 10)
		dst = append(dst, `,"roads":`...)
		dst = strconv.AppendInt(dst, int64(gs.Roads), 10)
		dst = append(dst, `,"sensors":`...)
		dst = strconv.AppendInt(dst, int64(gs.Sensors), 10)
		dst = append(dst, `,"reporting":`...)
		dst = strconv.AppendInt(dst, int64(gs.Reporting), 10)
		dst = append(dst, `,"deltaDb":`...)
		dst = appendRounded(dst, gs.DeltaDB)
		dst = append(dst, `,"reference":`...)
		dst = strconv.AppendBool(dst, gs.Reference)
		dst = append(dst, '}')
	}
	h := mp.HeldOut
	dst = append(dst, `],"heldOut":{"n":`...)
	dst = strconv.AppendInt(dst, int64(h.N), 10)
	dst = append(dst, `,"biasDb":`...)
	dst = appendRounded(dst, h.BiasDB)
	dst = append(dst, `,"maeDb":`...)
	dst = appendRounded(dst, h.MAEDB)
	dst = append(dst, `,"rmseDb":`...)
	dst = appendRounded(dst, h.RMSEDB)
	dst = append(dst, `,"shareWithin3Db":`...)
	dst = appendRounded(dst, h.Within3DB)
	dst = append(dst, `},"sensors":{"reporting":`...)
	dst = strconv.AppendInt(dst, int64(mp.Reporting), 10)
	dst = append(dst, `,"ignored":`...)
	dst = strconv.AppendInt(dst, int64(mp.Ignored), 10)
	dst = append(dst, `,"unused":`...)
	dst = strconv.AppendInt(dst, int64(mp.Unused), 10)
	return append(dst, "}}"...)
}

// AppendGeoJSON appends the map as an RFC 7946 FeatureCollection to dst: one
// Feature per cell with a value, its polygon counter-clockwise from the
// south-west corner, properties {"cell": index, "LAeq": dB(A) rounded to
// 0.1}. The collection carries the map's time as a foreign member "time".
func (mp *Map) AppendGeoJSON(dst []byte) []byte {
	g := mp.Grid
	dst = append(dst, `{"type":"FeatureCollection","time":`...)
	dst = appendTime(dst, mp.Time)
	dst = append(dst, `,"features":[`...)
	first := true
	for i, v := range mp.Levels {
		if math.IsNaN(float64(v)) {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		b := g.CellBound(i)
		dst = append(dst, `{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[`...)
		for k, p := range [5][2]float64{{b.Min[0], b.Min[1]}, {b.Max[0], b.Min[1]}, {b.Max[0], b.Max[1]}, {b.Min[0], b.Max[1]}, {b.Min[0], b.Min[1]}} {
			if k > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, '[')
			dst = appendCoord(dst, p[0])
			dst = append(dst, ',')
			dst = appendCoord(dst, p[1])
			dst = append(dst, ']')
		}
		dst = append(dst, `]]},"properties":{"cell":`...)
		dst = strconv.AppendInt(dst, int64(i), 10)
		dst = append(dst, `,"LAeq":`...)
		dst = appendLevel(dst, v)
		dst = append(dst, "}}"...)
	}
	return append(dst, "]}"...)
}

// appendCoord writes a degree value to 1e-7° (about 1 cm).
func appendCoord(dst []byte, v float64) []byte {
	return strconv.AppendFloat(dst, math.Round(v*1e7)/1e7, 'f', -1, 64)
}

func appendLevel(dst []byte, v float32) []byte {
	if math.IsNaN(float64(v)) {
		return append(dst, "null"...)
	}
	return strconv.AppendFloat(dst, math.Round(float64(v)*10)/10, 'f', 1, 64)
}

func appendRounded(dst []byte, v float64) []byte {
	return strconv.AppendFloat(dst, math.Round(v*100)/100+0, 'f', -1, 64) // +0 turns −0 into 0
}

func appendTime(dst []byte, t time.Time) []byte {
	dst = append(dst, '"')
	dst = t.UTC().AppendFormat(dst, time.RFC3339Nano)
	return append(dst, '"')
}
