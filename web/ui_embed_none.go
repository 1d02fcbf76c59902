//go:build !ui

package web

import "io/fs"

// embeddedUI returns nil: this binary was built without -tags ui, so / shows
// how to build the map (see UI).
func embeddedUI() fs.FS { return nil }
