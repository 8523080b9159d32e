package luapattern

// This file holds the conventions of gopher-lua's string functions that differ from C Lua 5.1's
// and that this package keeps, since the scripts run on gopher-lua today and may rely on them,
// and it lists the few places where this package does not do what gopher-lua does, and why.
//
// Kept from gopher-lua, unlike C Lua 5.1:
//   - string.find(s, "", init) returns 1, 0 whatever init is (Lua: init, init-1).
//   - find and match do not clamp init to the subject's length: an init past the end plus one
//     finds nothing, even with a pattern that matches the empty string (Lua clamps it).
//   - find's plain flag is read only when find has exactly four arguments.
//   - string.match returns no value at all, rather than one nil, when nothing matches.
//   - gsub's n: a negative n replaces every match (Lua: none); n = 0 replaces nothing when the
//     pattern does not match at the subject's start, and every match when it does (Lua: none).
//   - gsub refuses a number as the replacement (bad argument #3), and when nothing matches it
//     returns its first argument as it was, a number staying a number.
//   - In gsub's replacement string, '%' followed by anything but a digit or '%' stays as it is,
//     both characters (Lua 5.1: the character alone), and a '%' at the end stays.
//   - gmatch honours '^': an anchored pattern gives at most one match, at the subject's start
//     (Lua 5.1 matches '^' there as a plain character).
//   - Bracket sets are read as gopher-lua reads them (class.go, parseSet): "[%a-z]", "[%w-_]" and
//     "[a-b-c]" hold no character from their ranges, "[a--]" is 'a' and '-'.
//   - A back-reference to a position capture matches the empty string (Lua: never matches).
//   - A ')' without its '(', a '(' without its ')' and %0 are errors as soon as the pattern is
//     compiled, wherever they are (Lua: when the match reaches them, or for an unclosed capture
//     when its value is asked for; and find with no special character is a plain find in Lua
//     5.1, so string.find(s, "a)") is an error here and in gopher-lua, nil in Lua).
//   - Any number of captures (Lua: 32 at most, "too many captures").
//
// Not as gopher-lua does:
//   - %f[set], the frontier, works as in Lua 5.1 (its set read as any bracket set here, the
//     gopher-lua way above); gopher-lua reads %f as a plain 'f'.
//   - A pattern ending in '%' is "malformed pattern (ends with '%')", and %b without two
//     characters after it "unbalanced pattern", as in Lua; gopher-lua accepts both and never
//     matches.
//   - The messages of malformed patterns are Lua's: "malformed pattern (missing ']')" for
//     gopher-lua's "unexpected EOS at N", "unfinished capture" without " at EOS", "invalid
//     capture index" without " at N", "invalid pattern capture" for "invalid ')' at N".
//   - A replacement value (from a table or a function) that is neither a string, a number,
//     false nor nil is the error "invalid replacement value (a table)", as in Lua; gopher-lua
//     replaces the match with nothing.
//   - gmatch returns one function, which works called with no argument, as in Lua; gopher-lua
//     returns an iterator and a userdata that must be passed to it. Matches are found one per
//     call, so an error met while matching (a back-reference to an unclosed capture, the
//     deadline) comes from the iterator rather than from gmatch; a malformed pattern is still
//     refused by gmatch.
//   - gsub calls a function replacement for each match as it is found, and so a matching error
//     after some matches comes after those calls; gopher-lua finds every match first.
//   - find with the plain flag and an init past the end plus one returns nil; gopher-lua
//     crashes (slice bounds out of range). A back-reference to a position capture at the end
//     of the subject matches the empty string; gopher-lua crashes. A back-reference to a
//     capture that is still open is "invalid capture index" as in Lua; gopher-lua crashes or
//     matches the empty string.
//   - A long subject is no problem to a quantifier; gopher-lua recurses once per character and
//     fails with "pattern/input too complex" past about a million. A pattern with over MaxDepth
//     quantifiers followed by more pattern is "pattern too complex" (gopher-lua: no bound of its
//     own). A match can be stopped by its context, and gsub's result is bounded (Limits).

// findInit turns find's init (1-based, negative counting from the end) into a 0-based offset
// as gopher-lua does: not clamped to the length, so that it may point past the end, where nothing
// is found. matchInit is match's own way to the same offset; the two differ only where the
// arithmetic overflows (init = math.huge converts to the smallest int), and are kept apart so
// as to give gopher-lua's results even there.
func findInit(s string, init int) int {
	if init != 0 {
		init--
	}
	if init < 0 {
		init = len(s) + init + 1
	}
	return max(init, 0)
}

func matchInit(s string, init int) int {
	if init < 0 {
		init = len(s) + init + 1
	}
	init--
	return max(init, 0)
}
