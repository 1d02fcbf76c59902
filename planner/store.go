package planner

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ErrNotFound is returned for a scenario id that is not saved.
var ErrNotFound = errors.New("planner: no such scenario")

var bucketScenarios = []byte("scenarios")

// Store keeps saved scenarios (name, author, parameters, latest result) in
// a bbolt file. Safe for concurrent use.
type Store struct {
	db *bolt.DB
}

// OpenStore opens (creating) the scenario file at path.
func OpenStore(path string) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("planner: open scenario store %s: %w", path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketScenarios)
		return err
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("planner: open scenario store %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// Saved is a saved scenario: its latest run's result with the parameters.
type Saved struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
	Runs    int       `json:"runs"`
	Result  *Result   `json:"result"`
}

// Summary is what a listing shows of a saved scenario.
type Summary struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Author   string    `json:"author,omitempty"`
	Tenant   string    `json:"tenant"`
	Created  time.Time `json:"created"`
	RanAt    time.Time `json:"ranAt"`
	Runs     int       `json:"runs"`
	Traffic  bool      `json:"traffic"`
	Irrigate bool      `json:"irrigation"`
}

// Save stores a new scenario with its result and returns it with its id.
func (s *Store) Save(r *Result) (*Saved, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	sv := &Saved{ID: hex.EncodeToString(b[:]), Created: r.RanAt, Runs: 1, Result: r}
	r.ID = sv.ID
	return sv, s.put(sv)
}

// Update replaces a saved scenario's result after a re-run.
func (s *Store) Update(id string, r *Result) (*Saved, error) {
	sv, err := s.Get(id)
	if err != nil {
		return nil, err
	}
	r.ID = id
	sv.Result, sv.Runs = r, sv.Runs+1
	return sv, s.put(sv)
}

func (s *Store) put(sv *Saved) error {
	data, err := json.Marshal(sv)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketScenarios).Put([]byte(sv.ID), data)
	})
}

// Get returns a saved scenario or ErrNotFound.
func (s *Store) Get(id string) (*Saved, error) {
	var sv *Saved
	err := s.db.View(func(tx *bolt.Tx) error {
		data := tx.Bucket(bucketScenarios).Get([]byte(id))
		if data == nil {
			return ErrNotFound
		}
		sv = &Saved{}
		return json.Unmarshal(data, sv)
	})
	return sv, err
}

// Delete removes a saved scenario or returns ErrNotFound.
func (s *Store) Delete(id string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketScenarios)
		if b.Get([]byte(id)) == nil {
			return ErrNotFound
		}
		return b.Delete([]byte(id))
	})
}

// List returns the saved scenarios of a tenant, newest first.
func (s *Store) List(tenant string) ([]Summary, error) {
	var out []Summary
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketScenarios).ForEach(func(_, v []byte) error {
			var sv Saved
			if err := json.Unmarshal(v, &sv); err != nil {
				return err
			}
			r := sv.Result
			if r == nil || r.Tenant != tenant {
				return nil
			}
			out = append(out, Summary{ID: sv.ID, Name: r.Name, Author: r.Author, Tenant: r.Tenant, Created: sv.Created,
				RanAt: r.RanAt, Runs: sv.Runs, Traffic: r.Traffic != nil, Irrigate: r.Irrigation != nil})
			return nil
		})
	})
	slices.SortFunc(out, func(a, b Summary) int { return b.Created.Compare(a.Created) })
	return out, err
}
