package fao56_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/citytwin/citytwin/twin/fao56"
)

// week is 7 days of Milan-like July weather from 2 July 2001: mean
// irradiance in W/m² as a WeatherObserved station averages it, humidity
// as fractions, wind at 2 m, a rainy Wednesday; Saturday lacks radiation
// (Hargreaves).
func week() (fao56.Site, []fao56.Weather) {
	site := fao56.Site{LatitudeDeg: 45.46, ElevationM: 120}
	w := make([]fao56.Weather, 7)
	for i := range w {
		f := float64(i)
		w[i] = fao56.Weather{
			Date:   monday.AddDate(0, 0, i),
			TMax:   fao56.Some(29 + f/2),
			TMin:   fao56.Some(18 + f/4),
			RHMax:  fao56.Some(0.85),
			RHMin:  fao56.Some(0.40 + f/50),
			WindMS: fao56.Some(2 + f/10),
			RsMJ:   fao56.Some(fao56.RsFromWm2(280 - 5*f)),
		}
	}
	w[2].RainMM = 12
	w[5].RsMJ = nil
	return site, w
}

func areas(n int) ([]fao56.Area, []float64) {
	out := make([]fao56.Area, n)
	dr0 := make([]float64, n)
	for i := range out {
		out[i] = fao56.Area{ID: fmt.Sprintf("ga-%d", i), AreaM2: 500 + float64(i%37)*100, Kc: 0.7 + float64(i%5)*0.05}
		dr0[i] = float64(i % 40)
	}
	return out, dr0
}

var policies = []fao56.Policy{
	fao56.Threshold{},
	fao56.Fixed{Weekdays: []time.Weekday{time.Monday, time.Thursday}, DepthMM: 15},
	fao56.RainSkip{Schedule: fao56.Fixed{Weekdays: []time.Weekday{time.Monday, time.Thursday}, DepthMM: 15}, NextDay: true},
}

// naivePlan is the baseline: the weather chain (Ra, es, Δ, …) recomputed for
// every area.
func naivePlan(site fao56.Site, w []fao56.Weather, as []fao56.Area, dr0 []float64) ([][]fao56.Result, error) {
	out := make([][]fao56.Result, len(as))
	for i, a := range as {
		days, err := fao56.Days(site, w)
		if err != nil {
			return nil, err
		}
		if out[i], err = fao56.Compare(a, dr0[i], days, policies...); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// sharedPlan computes the weather chain once per day for the site.
func sharedPlan(site fao56.Site, w []fao56.Weather, as []fao56.Area, dr0 []float64) ([][]fao56.Result, error) {
	days, err := fao56.Days(site, w)
	if err != nil {
		return nil, err
	}
	out := make([][]fao56.Result, len(as))
	for i, a := range as {
		if out[i], err = fao56.Compare(a, dr0[i], days, policies...); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func TestSharedPlanMatchesNaive(t *testing.T) {
	site, w := week()
	as, dr0 := areas(50)
	a, err := naivePlan(site, w, as, dr0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sharedPlan(site, w, as, dr0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Error("shared and naive plans differ")
	}
	if b[10][0].Totals.Events == 0 && b[10][1].Totals.Events == 0 {
		t.Error("no irrigation at all in the week: the fixture exercises nothing")
	}
}

func TestDays(t *testing.T) {
	site, w := week()
	days, err := fao56.Days(site, w)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range days {
		want, method, _ := fao56.ET0(w[i], site)
		if d.ET0 != want || d.Method != method || d.RainMM != w[i].RainMM || !d.Date.Equal(w[i].Date) {
			t.Errorf("day %d: %+v; want ET0 %v %s", i, d, want, method)
		}
	}
	if days[5].Method != fao56.MethodHargreaves || days[0].Method != fao56.MethodPenmanMonteith {
		t.Errorf("methods %s, %s", days[0].Method, days[5].Method)
	}

	w[3].TMax = nil
	_, err = fao56.Days(site, w)
	var fe *fao56.FieldError
	if !errors.As(err, &fe) || fe.Field != "tMax" || !strings.Contains(err.Error(), "weather[3] 2001-07-05: tMax") {
		t.Errorf("err = %v", err)
	}
	_, w = week()
	w[4].Date = w[3].Date
	if _, err = fao56.Days(site, w); !errors.As(err, &fe) || fe.Field != "days[4].date" {
		t.Errorf("err = %v", err)
	}
}

// BenchmarkPlan: a 7-day horizon for 1,000 green areas and three policies.
func BenchmarkPlan(b *testing.B) {
	site, w := week()
	as, dr0 := areas(1000)
	for _, bc := range []struct {
		name string
		plan func(fao56.Site, []fao56.Weather, []fao56.Area, []float64) ([][]fao56.Result, error)
	}{{"naive", naivePlan}, {"shared", sharedPlan}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.plan(site, w, as, dr0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkET0 is one day of the Penman-Monteith chain (Example 18), the
// work the shared plan does once per day instead of once per area.
func BenchmarkET0(b *testing.B) {
	w, site := brussels()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := fao56.ET0(w, site); err != nil {
			b.Fatal(err)
		}
	}
}
