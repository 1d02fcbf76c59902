package noise_test

import (
	"math"
	"testing"
	"time"

	"github.com/citytwin/citytwin/twin/noise"
)

// dstLevel gives, per local hour, levels that probe the DPCM class IV limits
// (day 06–22 at 65, night 22–06 at 55).
func dstLevel(h int) float64 {
	switch h {
	case 8, 9, 10:
		return 66 // day, above 65
	case 21:
		return 65 // day, equal to the limit: not above
	case 22:
		return 60 // 22:00 is night: above 55
	case 6:
		return 60 // 06:00 is day: not above 65
	case 5:
		return 56 // night, above 55
	case 2:
		return 70 // night; 02:00 does not exist on 30 March
	}
	return 50
}

func TestHoursAboveDST(t *testing.T) {
	// 48 hours from 29 March 2025 00:00 in Rome: 29 March (24 h), 30 March
	// (23 h, no 02:00) and 31 March 00:00.
	hours := series(local(2025, 3, 29, 0), 48, dstLevel)
	got, err := noise.Limit{}.HoursAbove(hours)
	if err != nil {
		t.Fatal(err)
	}
	// Day (06–22, 16 h a day): 29th 16 + 30th 16 = 32 hours; above: 08, 09,
	// 10 on both days = 6.
	// Night: 48 − 32 = 16 hours (29th 8, 30th 7, 31st 1); above: 29th 02, 05,
	// 22 (3) + 30th 05, 22 (2) = 5.
	want := noise.Exceedances{DayHours: 32, NightHours: 16, DayAbove: 6, NightAbove: 5}
	if got != want {
		t.Fatalf("HoursAbove = %+v, want %+v", got, want)
	}
	// The zero Limit is class IV.
	got4, err := noise.DPCMClasses[3].Limit().HoursAbove(hours)
	if err != nil || got4 != want {
		t.Fatalf("class IV: %+v, %v; want %+v", got4, err, want)
	}
	// Class II (55/45): day above 55: 06 (60), 08–10 (66), 21 (65) = 5 a
	// day → 10; night above 45: every night hour (all ≥ 50) = 16.
	got2, err := noise.DPCMClasses[1].Limit().HoursAbove(hours)
	if err != nil {
		t.Fatal(err)
	}
	if want2 := (noise.Exceedances{DayHours: 32, NightHours: 16, DayAbove: 10, NightAbove: 16}); got2 != want2 {
		t.Fatalf("class II: %+v, want %+v", got2, want2)
	}
}

func TestHoursAboveCustomSplit(t *testing.T) {
	// A 07–23 day at 60 and a night at 50, in UTC.
	lim := noise.Limit{Day: 60, Night: 50, DayStart: 7, NightStart: 23, Location: time.UTC}
	start := time.Date(2025, 1, 10, 0, 0, 0, 0, time.UTC)
	var hours []noise.Hour
	for h := range 24 {
		hours = append(hours, noise.Hour{Start: start.Add(time.Duration(h) * time.Hour), LAeq: 55})
	}
	// 55 is above the night limit in the 8 night hours (23–07) only.
	got, err := lim.HoursAbove(hours)
	if err != nil {
		t.Fatal(err)
	}
	if want := (noise.Exceedances{DayHours: 16, NightHours: 8, NightAbove: 8}); got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestLimitValidate(t *testing.T) {
	wantField(t, noise.Limit{Day: math.NaN()}.Validate(), "Limit.Day", "0..200")
	wantField(t, noise.Limit{Night: -5}.Validate(), "Limit.Night", "0..200")
	wantField(t, noise.Limit{DayStart: 24, NightStart: 22}.Validate(), "Limit.DayStart", "0–23")
	wantField(t, noise.Limit{DayStart: 6, NightStart: 6}.Validate(), "Limit.NightStart", "differ")
	_, err := noise.Limit{DayStart: 6, NightStart: 6}.HoursAbove(nil)
	wantField(t, err, "Limit.NightStart", "differ")
	_, err = noise.Limit{}.HoursAbove([]noise.Hour{{Start: local(2025, 1, 1, 0), LAeq: 300}})
	wantField(t, err, "hours[0].LAeq", "0..200")
}

func TestDPCMClasses(t *testing.T) {
	// Immission limits of domain.md §5, and quality = immission − 3 dB
	// except class VI.
	wantImm := [6][2]float64{{50, 40}, {55, 45}, {60, 50}, {65, 55}, {70, 60}, {70, 70}}
	for i, c := range noise.DPCMClasses {
		if c.ImmissionDay != wantImm[i][0] || c.ImmissionNight != wantImm[i][1] {
			t.Errorf("class %s immission %v/%v, want %v", c.Class, c.ImmissionDay, c.ImmissionNight, wantImm[i])
		}
		if i < 5 && (c.QualityDay != c.ImmissionDay-3 || c.QualityNight != c.ImmissionNight-3) {
			t.Errorf("class %s quality %v/%v, want immission − 3", c.Class, c.QualityDay, c.QualityNight)
		}
		if c.Verified != (i < 2) {
			t.Errorf("class %s verified = %v; domain.md verifies I–II only", c.Class, c.Verified)
		}
		if l := c.Limit(); l.Day != c.ImmissionDay || l.Night != c.ImmissionNight || l.DayStart != 6 || l.NightStart != 22 {
			t.Errorf("class %s Limit() = %+v", c.Class, l)
		}
	}
}
