package planner_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/citytwin/citytwin/history"
	"github.com/citytwin/citytwin/internal/testenv"
	"github.com/citytwin/citytwin/planner"
)

func TestMeasuredFlows(t *testing.T) {
	db := testenv.StartInfluxDB(t)
	start := time.Date(2026, 11, 10, 0, 0, 0, 0, mustRome())
	writeHistory(t, db, start, 48) // t1 on r-a: 600 veh/h for 48 h
	var b strings.Builder
	loc := `location="{\"type\":\"Point\",\"coordinates\":[9.19,45.46]}"`
	for i := range 24 {
		h := start.Add(time.Duration(i) * time.Hour).UnixNano()
		// A second lane of r-a (first day only), a sensor without a road,
		// and another tenant's sensor on r-a.
		fmt.Fprintf(&b, "%s,entity_id=t2,road=r-a,tenant=t1,type=TrafficFlowObserved intensity_sum=300,%s %d\n", history.HourlyMeasurement, loc, h)
		fmt.Fprintf(&b, "%s,entity_id=t3,tenant=t1,type=TrafficFlowObserved intensity_sum=5000,%s %d\n", history.HourlyMeasurement, loc, h)
		fmt.Fprintf(&b, "%s,entity_id=x1,road=r-a,tenant=other,type=TrafficFlowObserved intensity_sum=1000,%s %d\n", history.HourlyMeasurement, loc, h)
		// A counter without a location, linked by its payload's road.
		fmt.Fprintf(&b, "%s,entity_id=t4,road=r-b,tenant=t1,type=TrafficFlowObserved intensity_sum=100 %d\n", history.HourlyMeasurement, h)
	}
	db.Write(t, b.String())
	hist, err := history.New(history.Config{URL: db.URL, Token: db.Token, Org: db.Org, Bucket: db.Bucket})
	if err != nil {
		t.Fatal(err)
	}
	defer hist.Close()

	got, err := planner.MeasuredFlows(t.Context(), hist, []string{"t1"}, start, start.Add(48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// r-a: t1 600 × 24 + t2 300 × 24 (its one day) = 14,400 + 7,200; r-b:
	// t4 100 × 24.
	if len(got.Flows) != 2 || got.Flows["r-a"] != 21600 || got.Flows["r-b"] != 2400 || got.Sensors != 3 || got.Hours != 96 {
		t.Fatalf("flows %v from %d sensors and %d hours; want r-a 21600 and r-b 2400 veh/day from 3 sensors and 96 hours", got.Flows, got.Sensors, got.Hours)
	}
	got, err = planner.MeasuredFlows(t.Context(), hist, []string{"t1", "other"}, start, start.Add(48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// The mean of the tenants: (21,600 + 1,000 × 24) / 2.
	if got.Flows["r-a"] != 22800 || got.Sensors != 4 {
		t.Fatalf("two tenants: flows %v from %d sensors; want r-a 22800 from 4", got.Flows, got.Sensors)
	}
}
