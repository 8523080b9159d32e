package script

import (
	"fmt"
)

// Limits on the shape of Lua source, checked before it is parsed. gopher-lua's parser and
// compiler recurse, and some of their passes are quadratic, in the depth of what they are given:
// a 12 MB file of nested parentheses made the process die in the parser (and again at every
// restart, the file still in the folder), and a 64 KB sum of 32,000 terms took 7 s to compile.
// C Lua refuses such source too ("chunk has too many syntax levels", at 200).
const (
	// MaxSourceSize is the largest script, library or chunk given to load(), in bytes.
	MaxSourceSize = 1 << 20
	// MaxNesting bounds brackets, tables, blocks and functions nested in one another.
	MaxNesting = 200
	// MaxChain bounds the operators of one expression, indexing and calls included
	// (a .. b .. c, x.y.z, f()()).
	MaxChain = 200
	// MaxElseifs bounds the elseifs of one if: gopher-lua nests each in the one before, and
	// 74,000 of them (a megabyte) took 29 s to compile.
	MaxElseifs = 1000
	// MaxConstructorItems bounds the items of one table constructor, {1, 2, 3, ...}: gopher-lua
	// keeps the first 25,550 and silently drops the others.
	MaxConstructorItems = 25550
	// MaxJumpLabels bounds the jump targets of one function (the chunk's top level is one):
	// gopher-lua numbers them in the 18 bits of a jump's offset, and past 131,072 its jumps land
	// in the wrong place (44,000 empty while loops ran the function from the start again until
	// the deadline; 32,800 `z = x and y` ended the call in a panic). The count is an upper
	// bound: for each if, elseif, while and for 3, each repeat, and and or 4, each comparison
	// and each :: of a ::label:: 1.
	MaxJumpLabels = 131072
)

// CheckSyntax reports source that breaks those limits, with the line where it does, before
// anything parses it. It reads Lua's tokens roughly (comments and strings are skipped exactly;
// expressions are told apart only as far as the limits need): source the parser would refuse
// anyway may pass.
func CheckSyntax(src []byte) (line int, err error) {
	if len(src) > MaxSourceSize {
		return 0, fmt.Errorf("%d bytes of source, over the %d that msgscript compiles", len(src), MaxSourceSize)
	}
	s := scanner{src: src, line: 1, levels: []level{{function: true}}, functions: []int{0}}
	for {
		tok := s.next()
		if s.labels > 0 {
			f := &s.levels[s.functions[len(s.functions)-1]]
			if f.labels += s.labels; f.labels > MaxJumpLabels {
				return s.line, fmt.Errorf("a function of more branches, loops and comparisons than gopher-lua can number (it takes %d jump targets); split it into functions", MaxJumpLabels)
			}
		}
		switch tok {
		case tokEOF:
			return 0, nil
		case tokUnfinished:
			// Refused rather than left to the parser: were the two to read a string or comment
			// differently, the rest of the source would go unchecked.
			return s.line, fmt.Errorf("a string or comment that does not end")
		case tokOpen:
			if s.afterOperand { // a call or an index: part of the chain
				if err := s.chainOp(); err != nil {
					return s.line, err
				}
			}
			if err := s.open(level{constructor: s.src[s.pos-1] == '{'}); err != nil {
				return s.line, err
			}
			s.afterOperand = false
		case tokClose:
			s.close()
			s.afterOperand = true
		case tokBlock: // function, do, if, repeat: a level, and the end of any expression
			if err := s.open(level{function: s.lastWord == "function"}); err != nil {
				return s.line, err
			}
			s.afterOperand = false
		case tokBlockEnd: // end, until
			s.close()
			s.afterOperand = tok == tokBlockEnd && s.lastWord == "end" // function ... end is a value
		case tokOperator:
			if err := s.chainOp(); err != nil {
				return s.line, err
			}
			s.afterOperand = false
		case tokSeparator: // , ; = and the other keywords end an expression
			l := s.top()
			l.ops = 0
			s.afterOperand = false
			switch {
			case s.lastWord == "elseif":
				if l.elseifs++; l.elseifs > MaxElseifs {
					return s.line, fmt.Errorf("an if of more than %d elseifs; split it, or look the case up in a table", MaxElseifs)
				}
			case l.constructor && s.lastWord == "" && s.src[s.pos-1] != '=':
				// gopher-lua drops the items of a constructor past 25,550 without a word.
				if l.items++; l.items >= MaxConstructorItems {
					return s.line, fmt.Errorf("a table constructor of more than %d items; fill the table in a loop, or read it from a file", MaxConstructorItems)
				}
			}
		case tokOperand:
			if s.afterOperand { // two operands in a row: a new statement
				s.top().ops = 0
			}
			s.afterOperand = true
		}
	}
}

// level is what the check counts of a bracket, block or function open.
type level struct {
	ops         int  // operators of the expression in progress
	elseifs     int  // of the if this level is
	constructor bool // a table constructor, { ... }
	items       int  // the constructor's separators so far
	function    bool // a function's body, or the chunk
	labels      int  // the function's jump targets so far, at most
}

func (s *scanner) top() *level { return &s.levels[len(s.levels)-1] }

func (s *scanner) open(l level) error {
	s.levels = append(s.levels, l)
	if len(s.levels) > MaxNesting {
		return fmt.Errorf("more than %d brackets, blocks or functions nested in one another", MaxNesting)
	}
	if l.function {
		s.functions = append(s.functions, len(s.levels)-1)
	}
	return nil
}

func (s *scanner) close() {
	if len(s.levels) > 1 {
		if s.top().function {
			s.functions = s.functions[:len(s.functions)-1]
		}
		s.levels = s.levels[:len(s.levels)-1]
	}
}

func (s *scanner) chainOp() error {
	l := s.top()
	if l.ops++; l.ops > MaxChain {
		return fmt.Errorf("an expression of more than %d operators, calls or indexes; split it", MaxChain)
	}
	return nil
}

type token int

const (
	tokEOF token = iota
	tokUnfinished
	tokOpen      // ( [ {
	tokClose     // ) ] }
	tokBlock     // function do if repeat
	tokBlockEnd  // end until
	tokOperator  // + - * / % ^ # .. == ~= < <= > >= and or not . :
	tokSeparator // , ; = and keywords that end an expression
	tokOperand   // a name, a number, a string, ..., true, false, nil
)

// scanner reads Lua tokens as far as CheckSyntax needs.
type scanner struct {
	src          []byte
	pos, line    int
	levels       []level // the brackets, blocks and functions open, innermost last
	functions    []int   // the levels that are functions' bodies, innermost last
	afterOperand bool    // the last token ended an operand
	lastWord     string  // the last token's word: a name or keyword, else ""
	labels       int     // the jump targets gopher-lua makes for the last token, at most
}

// labelsOf are the jump targets gopher-lua's compiler makes for a keyword, at most.
var labelsOf = map[string]int{"if": 3, "elseif": 3, "while": 3, "for": 3, "repeat": 4, "and": 4, "or": 4}

func (s *scanner) next() token {
	s.lastWord = "" // the word of this token, if it is one
	s.labels = 0
	for s.pos < len(s.src) {
		c := s.src[s.pos]
		switch {
		case c == '\n' || c == '\r':
			s.newline()
		case c == ' ' || c == '\t' || c == '\f' || c == '\v':
			s.pos++
		case c == '-' && s.peek(1) == '-':
			s.pos += 2
			if level, ok := s.longBracket(); ok {
				if !s.skipLong(level) {
					return tokUnfinished
				}
			} else {
				for s.pos < len(s.src) && !isLineEnd(s.src[s.pos]) {
					s.pos++
				}
			}
		case c == '"' || c == '\'':
			if !s.skipQuoted(c) {
				return tokUnfinished
			}
			return tokOperand
		case c == '[':
			if level, ok := s.longBracket(); ok {
				if !s.skipLong(level) {
					return tokUnfinished
				}
				return tokOperand
			}
			s.pos++
			return tokOpen
		case c == '(' || c == '{':
			s.pos++
			return tokOpen
		case c == ')' || c == ']' || c == '}':
			s.pos++
			return tokClose
		case isDigit(c) || (c == '.' && isDigit(s.peek(1))):
			s.skipNumber()
			return tokOperand
		case c == '.':
			if s.peek(1) == '.' && s.peek(2) == '.' {
				s.pos += 3
				return tokOperand
			}
			if s.peek(1) == '.' {
				s.pos += 2
			} else {
				s.pos++
			}
			return tokOperator
		case isNameStart(c):
			start := s.pos
			for s.pos < len(s.src) && isNameChar(s.src[s.pos]) {
				s.pos++
			}
			word := string(s.src[start:s.pos])
			s.lastWord = word
			s.labels = labelsOf[word]
			switch word {
			case "function", "do", "if", "repeat":
				return tokBlock
			case "end", "until":
				return tokBlockEnd
			case "and", "or", "not":
				return tokOperator
			case "true", "false", "nil":
				return tokOperand
			case "local", "return", "then", "else", "elseif", "while", "for", "in", "break":
				return tokSeparator
			}
			return tokOperand
		case c == ',' || c == ';':
			s.pos++
			return tokSeparator
		case c == '=':
			s.pos++
			if s.peek(0) == '=' {
				s.pos++
				s.labels = 1
				return tokOperator
			}
			return tokSeparator
		case c == '~' || c == '<' || c == '>':
			s.pos++
			if s.peek(0) == '=' {
				s.pos++
			}
			s.labels = 1
			return tokOperator
		case c == ':' && s.peek(1) == ':': // a ::label:: of goto, which ends an expression
			s.pos += 2
			s.labels = 1
			return tokSeparator
		default: // + - * / % ^ # : and anything the parser will refuse
			s.pos++
			return tokOperator
		}
	}
	return tokEOF
}

// newline moves past the line end at pos. As gopher-lua reads it, a line ends at \n or \r, and
// \r\n or \n\r is one line end.
func (s *scanner) newline() {
	c := s.src[s.pos]
	s.pos++
	if next := s.peek(0); isLineEnd(next) && next != c {
		s.pos++
	}
	s.line++
}

func isLineEnd(c byte) bool { return c == '\n' || c == '\r' }

func (s *scanner) peek(n int) byte {
	if s.pos+n < len(s.src) {
		return s.src[s.pos+n]
	}
	return 0
}

// longBracket recognises [[ or [=*[ at pos and moves past it, giving its level.
func (s *scanner) longBracket() (level int, ok bool) {
	if s.peek(0) != '[' {
		return 0, false
	}
	i := 1
	for s.peek(i) == '=' {
		i++
	}
	if s.peek(i) != '[' {
		return 0, false
	}
	s.pos += i + 1
	return i - 1, true
}

// skipLong moves past the ]=*] of level, counting lines.
func (s *scanner) skipLong(level int) bool {
	for s.pos < len(s.src) {
		c := s.src[s.pos]
		if isLineEnd(c) {
			s.newline()
			continue
		}
		if c == ']' {
			i := 1
			for s.peek(i) == '=' {
				i++
			}
			if i-1 == level && s.peek(i) == ']' {
				s.pos += i + 1
				return true
			}
		}
		s.pos++
	}
	return false
}

func (s *scanner) skipQuoted(quote byte) bool {
	s.pos++
	for s.pos < len(s.src) {
		switch c := s.src[s.pos]; c {
		case '\\':
			s.pos++
			if s.pos < len(s.src) && isLineEnd(s.src[s.pos]) {
				s.newline() // an escaped line end: the string goes on
			} else {
				s.pos++
			}
		case '\n', '\r':
			return false
		case quote:
			s.pos++
			return true
		default:
			s.pos++
		}
	}
	return false
}

func (s *scanner) skipNumber() {
	for s.pos < len(s.src) {
		c := s.src[s.pos]
		switch {
		case (c == 'e' || c == 'E') && (s.peek(1) == '+' || s.peek(1) == '-'):
			s.pos += 2
		case isNameChar(c) || c == '.':
			s.pos++
		default:
			return
		}
	}
}

func isDigit(c byte) bool     { return c >= '0' && c <= '9' }
func isNameStart(c byte) bool { return c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') }
func isNameChar(c byte) bool  { return isNameStart(c) || isDigit(c) }
