//go:build race

package main

// raceEnabled makes the binary under test share the race build (and its cache) with the test.
const raceEnabled = true
