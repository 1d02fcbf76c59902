package ingest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// spool is a directory of line-protocol batches that InfluxDB has not accepted
// yet. Each batch is one file, written to a temporary name, fsynced, renamed
// into place and the directory fsynced, so a file that exists under its final
// name is complete: a crash leaves either the whole batch or none of it (and
// the broker redelivers what was not acknowledged).
//
// File names are "{seq:020d}-{points}.lp"; the sequence orders replay and the
// point count lets the depth be known without reading files.
type spool struct {
	dir      string
	maxBytes int64 // 0: unlimited

	mu     sync.Mutex
	seq    uint64
	files  []string // final names, oldest first
	sizes  map[string]int64
	points int64
	bytes  int64
}

// errSpoolFull is returned by put when the spool holds maxBytes already.
var errSpoolFull = errors.New("spool full")

const spoolSuffix = ".lp"

func openSpool(dir string, maxBytes int64) (*spool, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create spool dir: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read spool dir: %w", err)
	}
	s := &spool{dir: dir, maxBytes: maxBytes, sizes: make(map[string]int64)}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".tmp-") {
			// An interrupted write: its messages were never acknowledged.
			_ = os.Remove(filepath.Join(dir, name))
			continue
		}
		seq, points, ok := parseSpoolName(name)
		if !ok {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return nil, fmt.Errorf("read spool dir: %w", err)
		}
		s.files = append(s.files, name)
		s.sizes[name] = info.Size()
		s.points += int64(points)
		s.bytes += info.Size()
		s.seq = max(s.seq, seq)
	}
	slices.Sort(s.files)
	return s, nil
}

func parseSpoolName(name string) (seq uint64, points int, ok bool) {
	base, found := strings.CutSuffix(name, spoolSuffix)
	if !found {
		return 0, 0, false
	}
	a, b, found := strings.Cut(base, "-")
	if !found {
		return 0, 0, false
	}
	seq, err1 := strconv.ParseUint(a, 10, 64)
	points, err2 := strconv.Atoi(b)
	return seq, points, err1 == nil && err2 == nil
}

// put stores a batch durably. When it returns nil the batch survives a crash.
func (s *spool) put(lines []byte, points int) error {
	size := int64(len(lines))
	s.mu.Lock()
	if held := s.bytes; s.maxBytes > 0 && held+size > s.maxBytes {
		s.mu.Unlock()
		return fmt.Errorf("spool batch of %d points: %w (%d bytes of %d)", points, errSpoolFull, held, s.maxBytes)
	}
	s.seq++
	seq := s.seq
	s.bytes += size // reserved now, so that concurrent puts respect the cap
	s.mu.Unlock()
	stored := false
	defer func() {
		if !stored {
			s.mu.Lock()
			s.bytes -= size
			s.mu.Unlock()
		}
	}()

	name := fmt.Sprintf("%020d-%d%s", seq, points, spoolSuffix)
	tmp := filepath.Join(s.dir, ".tmp-"+name)
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return fmt.Errorf("spool batch of %d points: %w", points, err)
	}
	_, err = f.Write(lines)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(s.dir, name))
	}
	if err == nil {
		err = syncDir(s.dir)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("spool batch of %d points: %w", points, err)
	}
	stored = true
	s.mu.Lock()
	s.files = append(s.files, name) // seq is increasing, so files stays sorted
	s.sizes[name] = size
	s.points += int64(points)
	s.mu.Unlock()
	return nil
}

// oldest returns the oldest spooled batch, or ok=false when the spool is empty.
func (s *spool) oldest() (name string, lines []byte, points int, ok bool, err error) {
	s.mu.Lock()
	if len(s.files) == 0 {
		s.mu.Unlock()
		return "", nil, 0, false, nil
	}
	name = s.files[0]
	s.mu.Unlock()
	_, points, _ = parseSpoolName(name)
	lines, err = os.ReadFile(filepath.Join(s.dir, name))
	return name, lines, points, true, err
}

// remove deletes a replayed batch.
func (s *spool) remove(name string) error {
	if err := os.Remove(filepath.Join(s.dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove spooled batch %s: %w", name, err)
	}
	_, points, _ := parseSpoolName(name)
	s.mu.Lock()
	if i := slices.Index(s.files, name); i >= 0 {
		s.files = slices.Delete(s.files, i, i+1)
		s.points -= int64(points)
		s.bytes -= s.sizes[name]
		delete(s.sizes, name)
	}
	s.mu.Unlock()
	return nil
}

// depth returns the number of spooled batches and points.
func (s *spool) depth() (batches int, points int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.files), s.points
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// size returns the bytes held.
func (s *spool) size() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes
}
