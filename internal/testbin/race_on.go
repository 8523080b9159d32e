//go:build race

package testbin

const raceEnabled = true

// RaceEnabled tells tests whether they run with -race, for builds that must match.
const RaceEnabled = raceEnabled
