// Package config reads citytwin's settings from command-line flags and
// CITYTWIN_* environment variables. A flag given on the command line wins over
// the environment, which wins over the default. Secrets may also come from a
// file named by the variable with a _FILE suffix (CITYTWIN_INFLUX_TOKEN_FILE).
//
// Only cmd/ uses this package; components receive plain Config structs.
package config

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Set is a flag set whose flags are also read from the environment.
type Set struct {
	fs      *flag.FlagSet
	getenv  func(string) string
	entries []entry
	errs    []error
}

type entry struct {
	flag, env, def, usage string
}

// NewSet returns a set for one subcommand. getenv is os.Getenv in production.
func NewSet(name string, getenv func(string) string) *Set {
	s := &Set{fs: flag.NewFlagSet(name, flag.ContinueOnError), getenv: getenv}
	s.fs.Usage = func() {
		out := s.fs.Output()
		fmt.Fprintf(out, "usage: citytwin %s [flags]\n\n", name)
		s.WriteTable(out)
	}
	return s
}

// EnvName is the environment variable of a flag: CITYTWIN_ and the flag name
// upper-cased with dashes as underscores.
func EnvName(flagName string) string {
	return "CITYTWIN_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func (s *Set) lookup(name string, secret bool) (string, bool) {
	env := EnvName(name)
	if v := s.getenv(env); v != "" {
		return v, true
	}
	if secret {
		if path := s.getenv(env + "_FILE"); path != "" {
			b, err := os.ReadFile(path)
			if err != nil {
				s.errs = append(s.errs, fmt.Errorf("%s_FILE: %w", env, err))
				return "", false
			}
			return strings.TrimSpace(string(b)), true
		}
	}
	return "", false
}

func (s *Set) add(name, def, usage string) {
	s.entries = append(s.entries, entry{flag: name, env: EnvName(name), def: def, usage: usage})
}

// String registers a string setting.
func (s *Set) String(p *string, name, def, usage string) {
	s.add(name, def, usage)
	if v, ok := s.lookup(name, false); ok {
		def = v
	}
	s.fs.StringVar(p, name, def, usage)
}

// Secret registers a string setting that may come from a _FILE and is never
// printed.
func (s *Set) Secret(p *string, name, usage string) {
	s.add(name, "", usage+" (or "+EnvName(name)+"_FILE)")
	def, _ := s.lookup(name, true)
	s.fs.StringVar(p, name, def, usage)
}

// Strings registers a comma-separated list.
func (s *Set) Strings(p *[]string, name string, def []string, usage string) {
	s.add(name, strings.Join(def, ","), usage)
	*p = def
	if v, ok := s.lookup(name, false); ok {
		*p = splitList(v)
	}
	s.fs.Func(name, usage, func(v string) error { *p = splitList(v); return nil })
}

func splitList(v string) []string {
	var out []string
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// Int registers an integer setting.
func (s *Set) Int(p *int, name string, def int, usage string) {
	s.add(name, strconv.Itoa(def), usage)
	if v, ok := s.lookup(name, false); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			s.errs = append(s.errs, fmt.Errorf("%s=%q: must be an integer", EnvName(name), v))
		} else {
			def = n
		}
	}
	s.fs.IntVar(p, name, def, usage)
}

// Int64 registers a 64-bit integer setting.
func (s *Set) Int64(p *int64, name string, def int64, usage string) {
	s.add(name, strconv.FormatInt(def, 10), usage)
	if v, ok := s.lookup(name, false); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			s.errs = append(s.errs, fmt.Errorf("%s=%q: must be an integer", EnvName(name), v))
		} else {
			def = n
		}
	}
	s.fs.Int64Var(p, name, def, usage)
}

// Float registers a floating-point setting.
func (s *Set) Float(p *float64, name string, def float64, usage string) {
	s.add(name, strconv.FormatFloat(def, 'g', -1, 64), usage)
	if v, ok := s.lookup(name, false); ok {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			s.errs = append(s.errs, fmt.Errorf("%s=%q: must be a number", EnvName(name), v))
		} else {
			def = n
		}
	}
	s.fs.Float64Var(p, name, def, usage)
}

// Duration registers a duration setting (Go syntax: 100ms, 30s, 5m).
func (s *Set) Duration(p *time.Duration, name string, def time.Duration, usage string) {
	s.add(name, def.String(), usage)
	if v, ok := s.lookup(name, false); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			s.errs = append(s.errs, fmt.Errorf("%s=%q: must be a duration such as 100ms or 30s", EnvName(name), v))
		} else {
			def = d
		}
	}
	s.fs.DurationVar(p, name, def, usage)
}

// Bool registers a boolean setting.
func (s *Set) Bool(p *bool, name string, def bool, usage string) {
	s.add(name, strconv.FormatBool(def), usage)
	if v, ok := s.lookup(name, false); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			s.errs = append(s.errs, fmt.Errorf("%s=%q: must be true or false", EnvName(name), v))
		} else {
			def = b
		}
	}
	s.fs.BoolVar(p, name, def, usage)
}

// Parse parses args after the environment was read.
func (s *Set) Parse(args []string) error {
	if len(s.errs) > 0 {
		return fmt.Errorf("configuration: %w", s.errs[0])
	}
	return s.fs.Parse(args)
}

// Args returns the arguments left after the flags.
func (s *Set) Args() []string { return s.fs.Args() }

// SetOutput sets where usage goes.
func (s *Set) SetOutput(w io.Writer) { s.fs.SetOutput(w) }

// WriteTable writes the settings as a table: flag, environment, default.
func (s *Set) WriteTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FLAG\tENVIRONMENT\tDEFAULT\tMEANING")
	for _, e := range s.entries {
		fmt.Fprintf(tw, "-%s\t%s\t%s\t%s\n", e.flag, e.env, e.def, e.usage)
	}
	tw.Flush()
}

// Markdown writes the settings as a Markdown table (for README.md).
func (s *Set) Markdown(w io.Writer) {
	fmt.Fprintln(w, "| flag | environment | default | meaning |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, e := range s.entries {
		def := e.def
		if def != "" {
			def = "`" + def + "`"
		}
		fmt.Fprintf(w, "| `-%s` | `%s` | %s | %s |\n", e.flag, e.env, def, strings.ReplaceAll(e.usage, "|", "\\|"))
	}
}
