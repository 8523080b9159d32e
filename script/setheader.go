package script

import (
	"bytes"
	"strings"
)

// SetHeader returns src with its `--* key: value` header set: the first line with that key is
// replaced, or a new header line is put at the top. A store that files scripts by their headers
// (the folder store) uses it so that what it wrote is found again under the same subject and name.
func SetHeader(src []byte, key, value string) []byte {
	header := headerPrefix + " " + key + ": " + value
	rest := src
	for offset := 0; len(rest) > 0; {
		line, after, found := bytes.Cut(rest, []byte{'\n'})
		trimmed := bytes.TrimLeft(line, " \t")
		if k, _, ok := strings.Cut(string(bytes.TrimPrefix(trimmed, []byte(headerPrefix))), ":"); ok &&
			bytes.HasPrefix(trimmed, []byte(headerPrefix)) && strings.EqualFold(strings.TrimSpace(k), key) {
			var out bytes.Buffer
			out.Write(src[:offset])
			out.WriteString(header)
			if found {
				out.WriteByte('\n')
				out.Write(after)
			}
			return out.Bytes()
		}
		offset += len(line) + 1
		rest = after
	}
	return append([]byte(header+"\n"), src...)
}
