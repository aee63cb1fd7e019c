// Package release holds the checks of qscale's release builds
// (scripts/release): the same commit and version build to the same bytes in
// any directory, and the binary reports the version it was built as.
package release
