package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// counted names, per measurement, the field bench counts: one that every
// point of the type carries, in citytwin's schema and the baseline's.
var counted = []struct{ measurement, field string }{
	{"NoiseLevelObserved", "LAeq"},
	{"AirQualityObserved", "no2"},
	{"TrafficFlowObserved", "intensity"},
}

// influx counts a tenant's points through InfluxQL's /query endpoint: the
// native API of InfluxDB 1.8, and offered by InfluxDB 2.x for buckets with
// a DBRP mapping. The database (and retention policy) are the parts of the
// bucket before and after '/'.
type influx struct {
	url, token, db, rp string
	client             *http.Client
}

func newInflux(rawURL, token, bucket string) *influx {
	db, rp, _ := strings.Cut(bucket, "/")
	return &influx{
		url: strings.TrimRight(rawURL, "/"), token: token, db: db, rp: rp,
		client: &http.Client{Timeout: 10 * time.Second},
	}
}

// countQuery is one request with a count statement per measurement.
func countQuery(tenant string, since time.Time) string {
	var b strings.Builder
	for i, c := range counted {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, `SELECT count(%q) FROM %q WHERE "tenant" = '%s' AND time >= '%s'`,
			c.field, c.measurement, strings.ReplaceAll(tenant, `'`, `\'`), since.UTC().Format(time.RFC3339Nano))
	}
	return b.String()
}

// count returns the number of the tenant's points stored since since.
func (i *influx) count(ctx context.Context, tenant string, since time.Time) (int64, error) {
	series, err := i.query(ctx, http.MethodGet, countQuery(tenant, since))
	if err != nil {
		return 0, err
	}
	var n int64
	for _, s := range series {
		for _, v := range s.Values {
			if len(v) < 2 {
				continue
			}
			x, ok := v[1].(json.Number)
			if !ok {
				return 0, fmt.Errorf("count: unexpected value %v", v[1])
			}
			k, err := x.Int64()
			if err != nil {
				return 0, fmt.Errorf("count: %w", err)
			}
			n += k
		}
	}
	return n, nil
}

// createDatabase creates the database (InfluxDB 1.x; a no-op when it exists).
func (i *influx) createDatabase(ctx context.Context) error {
	_, err := i.query(ctx, http.MethodPost, fmt.Sprintf("CREATE DATABASE %q", i.db))
	return err
}

type series struct {
	Values [][]any `json:"values"`
}

func (i *influx) query(ctx context.Context, method, q string) ([]series, error) {
	v := url.Values{"db": {i.db}, "q": {q}}
	if i.rp != "" {
		v.Set("rp", i.rp)
	}
	var body io.Reader
	target := i.url + "/query"
	if method == http.MethodPost {
		body = strings.NewReader(v.Encode())
	} else {
		target += "?" + v.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, err
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if i.token != "" {
		req.Header.Set("Authorization", "Token "+i.token)
	}
	resp, err := i.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out struct {
		Results []struct {
			Series []series `json:"series"`
			Error  string   `json:"error"`
		} `json:"results"`
		Error string `json:"error"`
	}
	dec := json.NewDecoder(io.LimitReader(resp.Body, 1<<20))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("InfluxDB /query: %s: %w (bench counts through InfluxQL /query; InfluxDB 2.x needs a DBRP mapping for the bucket)", resp.Status, err)
	}
	if out.Error != "" {
		return nil, fmt.Errorf("InfluxDB /query: %s", out.Error)
	}
	var all []series
	for _, r := range out.Results {
		if r.Error != "" {
			return nil, fmt.Errorf("InfluxDB /query: %s", r.Error)
		}
		all = append(all, r.Series...)
	}
	return all, nil
}
