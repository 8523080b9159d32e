//go:build !race

package testbin

const raceEnabled = false

// RaceEnabled tells tests whether they run with -race, for builds that must match.
const RaceEnabled = raceEnabled
