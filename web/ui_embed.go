//go:build ui

package web

import (
	"embed"
	"io/fs"
)

// dist is the build of web/ui (npm run build). Only binaries built with
// -tags ui embed it; see UI.
//
//go:embed all:ui/dist
var dist embed.FS

// embeddedUI returns the embedded build.
func embeddedUI() fs.FS {
	sub, err := fs.Sub(dist, "ui/dist")
	if err != nil {
		return nil
	}
	return sub
}
