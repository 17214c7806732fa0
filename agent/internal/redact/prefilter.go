package redact

// The default patterns are case-insensitive alternations, which Go's regexp
// cannot speed up with a literal prefix: on a 3 KB JVM class path each one
// runs the slow NFA. A single pass over the cmdline first notes which
// keywords occur; a default pattern runs only when one of the keywords its
// matches must contain is there. User patterns always run.

// keywords are lower-case ASCII; matching folds ASCII case.
var keywords = [...]string{"pass", "secret", "token", "key", "auth", "pwd", "://", "mysql", "mariadb", "curl", "bearer", "api"}

// keyword bits, in the order of keywords.
const (
	kwPass = 1 << iota
	kwSecret
	kwToken
	kwKey
	kwAuth
	kwPwd
	kwScheme
	kwMysql
	kwMariadb
	kwCurl
	kwBearer
	kwAPI

	// anyKeyword is the mask of a pattern that always runs.
	anyKeyword = 1<<len(keywords) - 1
)

// defaultNeeds[i] is the set of keywords one of which every match of
// defaultPatterns[i] contains.
var defaultNeeds = [...]uint32{
	kwPass | kwSecret | kwToken | kwKey | kwAuth | kwPwd, // NAME=value
	kwPass | kwSecret | kwToken | kwKey | kwAuth | kwPwd, // --NAME value
	kwScheme,                            // scheme://user:pass@
	kwMysql | kwMariadb,                 // mysql -p
	kwCurl,                              // curl -u
	kwAuth | kwBearer,                   // Authorization:, Bearer
	kwAPI | kwToken | kwSecret | kwAuth, // X-Api-Key: and friends
}

// byFirst lists, per lower-cased first byte, the keywords starting with it.
var byFirst = func() (t [256][]uint8) {
	for i, k := range keywords {
		t[k[0]] = append(t[k[0]], uint8(i))
	}
	return t
}()

// keywordsIn returns the set of keywords occurring in s, in one pass. Any
// non-ASCII byte gives every keyword: (?i) folds Unicode too (ſ matches s,
// the Kelvin sign k), which this ASCII scan does not.
func keywordsIn(s string) uint32 {
	var found uint32
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return anyKeyword
		}
		for _, k := range byFirst[lower(s[i])] {
			if found&(1<<k) == 0 && hasPrefixFold(s[i:], keywords[k]) {
				found |= 1 << k
			}
		}
	}
	return found
}

func hasPrefixFold(s, lowerPrefix string) bool {
	if len(s) < len(lowerPrefix) {
		return false
	}
	for i := 0; i < len(lowerPrefix); i++ {
		if lower(s[i]) != lowerPrefix[i] {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
