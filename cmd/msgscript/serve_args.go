package main

import (
	"strings"

	"github.com/spf13/pflag"
)

// longFlagArgs rewrites the original server's Go-style flags to pflag's spelling: in Go's flag
// package, which the original used, -natsurl and --natsurl are the same flag, whereas pflag reads
// -natsurl as the shorthands -n -a -t -s... So a single dash followed by more than one letter
// becomes a double dash ("-natsurl URL" → "--natsurl URL", "-plugin=DIR" → "--plugin=DIR").
// Values are left alone, even when they start with a dash ("--queue-group -x"): after a flag that
// takes a value and has no "=", the next argument is copied as it is, as both parsers read it.
// Everything after "--" is copied as it is too. Single letters (-h) stay shorthands.
func longFlagArgs(fs *pflag.FlagSet, args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			return append(out, args[i:]...)
		}
		if len(arg) < 2 || arg[0] != '-' {
			out = append(out, arg)
			continue
		}
		body := strings.TrimPrefix(arg[1:], "-")
		name, _, hasValue := strings.Cut(body, "=")
		if len(name) > 1 && !strings.HasPrefix(arg, "--") {
			arg = "-" + arg
		}
		out = append(out, arg)
		var f *pflag.Flag
		if len(name) == 1 {
			f = fs.ShorthandLookup(name)
		} else {
			f = fs.Lookup(name)
		}
		// A flag without a default for its bare form (NoOptDefVal) takes the next argument.
		if f != nil && f.NoOptDefVal == "" && !hasValue && i+1 < len(args) {
			i++
			out = append(out, args[i])
		}
	}
	return out
}
