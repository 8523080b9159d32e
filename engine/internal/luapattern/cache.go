package luapattern

import (
	"container/list"
	"sync"
)

// Scripts use the same few patterns over and over, mostly string literals of their code, and
// gopher-lua compiles a pattern anew at every call. A small LRU of compiled patterns, shared by
// every state (a Pattern is immutable), saves that work: a hit costs a map look-up under a mutex.
// Long patterns, rarely repeated and costly to keep, are compiled every time; errors are not
// kept.
const (
	cacheSize       = 256
	cacheMaxPattern = 256 // bytes
)

var cache = newLRU(cacheSize)

// compileCached is Compile through the cache.
func compileCached(pattern string) (*Pattern, error) {
	if len(pattern) > cacheMaxPattern {
		return Compile(pattern)
	}
	if p := cache.get(pattern); p != nil {
		return p, nil
	}
	p, err := Compile(pattern)
	if err != nil {
		return nil, err
	}
	cache.put(pattern, p)
	return p, nil
}

type lruEntry struct {
	key string
	p   *Pattern
}

// lru is a least-recently-used map of compiled patterns, safe for concurrent use.
type lru struct {
	mu    sync.Mutex
	max   int
	order list.List // front: most recently used; values are *lruEntry
	index map[string]*list.Element
}

func newLRU(max int) *lru {
	return &lru{max: max, index: make(map[string]*list.Element, max)}
}

func (c *lru) get(key string) *Pattern {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.index[key]
	if !ok {
		return nil
	}
	c.order.MoveToFront(e)
	return e.Value.(*lruEntry).p
}

func (c *lru) put(key string, p *Pattern) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.index[key]; ok {
		c.order.MoveToFront(e)
		return
	}
	// The key is copied: a script's pattern may be a slice of a much larger string, which
	// the cache would otherwise keep alive.
	key = string(append([]byte(nil), key...))
	c.index[key] = c.order.PushFront(&lruEntry{key, p})
	if c.order.Len() > c.max {
		old := c.order.Back()
		c.order.Remove(old)
		delete(c.index, old.Value.(*lruEntry).key)
	}
}
