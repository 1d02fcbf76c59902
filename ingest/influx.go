package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	influxhttp "github.com/influxdata/influxdb-client-go/v2/api/http"
)

// InfluxConfig configures the InfluxDB store. It works against InfluxDB 2.x
// (Org, Bucket, Token) and 1.8+ through its v2-compatible API (Bucket is
// "database/retention-policy", Token "user:password" or any text when
// authentication is off, Org ignored).
type InfluxConfig struct {
	URL    string
	Token  string
	Org    string
	Bucket string
	// Timeout bounds one write request; default 10 s.
	Timeout time.Duration
	// NoGzip turns off gzip request bodies (on by default).
	NoGzip bool
}

// Influx writes line protocol to InfluxDB through influxdb-client-go's HTTP
// service. It does no retrying of its own: durability is the pipeline's job.
// Safe for concurrent use.
type Influx struct {
	cfg      InfluxConfig
	client   influxdb2.Client
	writeURL string
	gzPool   sync.Pool
}

// NewInflux validates cfg and returns a store. It does not contact InfluxDB.
func NewInflux(cfg InfluxConfig) (*Influx, error) {
	if cfg.URL == "" {
		return nil, errors.New("influx: URL is required (CITYTWIN_INFLUX_URL)")
	}
	if _, err := url.ParseRequestURI(cfg.URL); err != nil {
		return nil, fmt.Errorf("influx: URL %q: %w", cfg.URL, err)
	}
	if cfg.Bucket == "" {
		return nil, errors.New("influx: bucket is required (CITYTWIN_INFLUX_BUCKET; for InfluxDB 1.8 use database/retention-policy)")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	opts := influxdb2.DefaultOptions().SetHTTPRequestTimeout(uint(cfg.Timeout / time.Second))
	c := influxdb2.NewClientWithOptions(cfg.URL, cfg.Token, opts)
	q := url.Values{}
	q.Set("org", cfg.Org)
	q.Set("bucket", cfg.Bucket)
	q.Set("precision", "ns")
	i := &Influx{cfg: cfg, client: c, writeURL: c.HTTPService().ServerAPIURL() + "write?" + q.Encode()}
	i.gzPool.New = func() any {
		w, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
		return w
	}
	return i, nil
}

// WriteError is InfluxDB's answer to a write it did not accept.
type WriteError struct {
	// Status is the HTTP status, 0 when InfluxDB could not be reached.
	Status int
	Err    error
}

func (e *WriteError) Error() string {
	if e.Status == 0 {
		return fmt.Sprintf("influxdb unreachable: %v", e.Err)
	}
	return fmt.Sprintf("influxdb answered %d: %v", e.Status, e.Err)
}

func (e *WriteError) Unwrap() error { return e.Err }

// Rejected reports whether InfluxDB refused the data itself (malformed line,
// field type conflict, outside retention, too large), so that resending the same
// body cannot succeed. Every other failure is worth retrying later.
func (e *WriteError) Rejected() bool {
	return e.Status == http.StatusBadRequest || e.Status == http.StatusUnprocessableEntity ||
		e.Status == http.StatusRequestEntityTooLarge
}

// Write sends one body of newline-terminated lines.
func (i *Influx) Write(ctx context.Context, lines []byte) error {
	ctx, cancel := context.WithTimeout(ctx, i.cfg.Timeout)
	defer cancel()
	var body io.Reader = bytes.NewReader(lines)
	if !i.cfg.NoGzip {
		var buf bytes.Buffer
		buf.Grow(len(lines) / 4)
		zw := i.gzPool.Get().(*gzip.Writer)
		zw.Reset(&buf)
		_, _ = zw.Write(lines)
		_ = zw.Close()
		i.gzPool.Put(zw)
		body = &buf
	}
	perr := i.client.HTTPService().DoPostRequest(ctx, i.writeURL, body, func(req *http.Request) {
		req.Header.Set("Content-Type", "text/plain; charset=utf-8")
		if !i.cfg.NoGzip {
			req.Header.Set("Content-Encoding", "gzip")
		}
	}, func(resp *http.Response) error {
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.Body.Close()
	})
	if perr != nil {
		return &WriteError{Status: perr.StatusCode, Err: errors.New(errorText(perr))}
	}
	return nil
}

func errorText(e *influxhttp.Error) string {
	if e.Message != "" {
		return e.Message
	}
	if e.Err != nil {
		return e.Err.Error()
	}
	return e.Error()
}

// Ping reports whether InfluxDB answers.
func (i *Influx) Ping(ctx context.Context) error {
	ok, err := i.client.Ping(ctx)
	if err != nil {
		return fmt.Errorf("ping influxdb: %w", err)
	}
	if !ok {
		return errors.New("ping influxdb: not ready")
	}
	return nil
}

// Setup prepares the destination. On InfluxDB 2.x it checks that the bucket
// exists. On 1.x it creates the database named by the bucket's first part when
// missing (CREATE DATABASE is idempotent).
func (i *Influx) Setup(ctx context.Context) error {
	h, err := i.client.Health(ctx)
	if err != nil {
		return fmt.Errorf("influxdb health: %w", err)
	}
	version := ""
	if h.Version != nil {
		version = *h.Version
	}
	v1 := strings.HasPrefix(strings.TrimPrefix(version, "v"), "1.")
	if !v1 {
		_, err := i.client.BucketsAPI().FindBucketByName(ctx, i.cfg.Bucket)
		if err == nil {
			return nil
		}
		// InfluxDB 1.x has no /api/v2/buckets route (and a 1.8 built from
		// source reports its version as "unknown").
		if !strings.Contains(err.Error(), "404 page not found") {
			return fmt.Errorf("influxdb %s: bucket %q: %w", version, i.cfg.Bucket, err)
		}
	}
	db, _, _ := strings.Cut(i.cfg.Bucket, "/")
	form := url.Values{"q": {fmt.Sprintf("CREATE DATABASE %q", db)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(i.cfg.URL, "/")+"/query",
		strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if perr := i.client.HTTPService().DoHTTPRequest(req, nil, func(resp *http.Response) error {
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.Body.Close()
	}); perr != nil {
		return fmt.Errorf("create database %s on influxdb 1.x: %s", db, errorText(perr))
	}
	return nil
}

// Close releases the client's idle connections.
func (i *Influx) Close() { i.client.Close() }
