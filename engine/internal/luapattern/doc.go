// Package luapattern is Lua 5.1 pattern matching (reference manual §5.4.1) for the scripts'
// string.find, string.match, string.gmatch and string.gsub, written so that a script's deadline
// and memory bounds hold inside a match as they do between Lua instructions.
//
// Why not gopher-lua's own: its matcher (package pm) runs in Go for as long as a backtracking
// pattern takes, deaf to the call's context, since gopher-lua checks the context only between VM
// instructions; it collects every match before returning the first one (gmatch over a large
// string allocates for all of them at once); and its gsub copies the whole result once per match
// and has no bound on the result's size, so one call can ask the Go runtime for gigabytes, which
// is a fatal error no recover saves.
//
// Here:
//   - a pattern is compiled once (compile.go, with class.go for character classes and sets) into
//     a flat program, and compiled patterns are kept in a small LRU (cache.go);
//   - the matcher (match.go) backtracks as C Lua does, recursing only for the quantifiers
//     *, +, - and ?, whose number bounds the depth, checked when compiling; it polls the context
//     every few thousand steps (stop.go) and returns an error when it is done;
//   - gmatch and gsub find one match at a time (lualib.go, gsub.go); gsub builds its result in one
//     growing buffer and refuses, before allocating, a result over the bound it is given.
//
// Compatibility: scripts run on gopher-lua today, so where gopher-lua and C Lua 5.1 differ this
// package does what gopher-lua does, unless gopher-lua crashes or hangs there; the few deliberate
// exceptions (frontier %f, errors for malformed patterns and replacement values) are listed in
// compat.go, with every kept gopher-lua behaviour that differs from Lua 5.1.
package luapattern
