//go:build tools

// Package tools pins actionlint (github.com/rhysd/actionlint/cmd/actionlint),
// the GitHub Actions workflow linter .ci/run runs on .github/workflows. Built by
// ../build.sh (opt-in: `build.sh actionlint`); the version lives in go.mod.
package tools

import _ "github.com/rhysd/actionlint/cmd/actionlint"
