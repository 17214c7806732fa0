package redact

// Pieces of the default patterns. Flag and variable names are made of
// segments joined by '-', '_' or '.' (`--db-password`, `DB_PASSWORD`,
// `-Dspring.datasource.password`); a name is secret when it ends with one of
// secretWords. Camel case (`keyStorePassword`) is covered for the long words
// by allowing letters before them; `pass` and `pwd` need a separator before
// them so that `--bypass` and `PWD=/home` stay visible.
const (
	segs        = `(?:[a-z0-9]+[-_.])*`
	longWords   = `[a-z0-9]*(?:password|passwd|secret|token)`
	keyWords    = `(?:api|access|secret)[-_.]?key|requirepass|masterauth`
	shortWords  = `pass`
	prefixedPwd = `[a-z0-9]+[-_.]pwd`
	secretName  = segs + `(?:` + longWords + `|` + keyWords + `|` + shortWords + `|` + prefixedPwd + `)`

	// notNo is a first name segment other than "no", so that boolean
	// `--no-password` does not swallow the next argument.
	notNo          = `(?:[a-mo-z0-9][a-z0-9]*|n|n[a-np-z0-9][a-z0-9]*|no[a-z0-9]+)`
	flagSecretName = `(?:` + notNo + `[-_.]` + segs + `)?(?:` + longWords + `|` + keyWords + `|` + shortWords + `|` + prefixedPwd + `)`

	// mysqlClients are the programs whose -pSECRET is a password.
	mysqlClients = `(?:mysql(?:dump|admin|import|show|check|pump|binlog|slap)?|mariadb(?:-dump|-admin|-import|-show|-check|-binlog|-slap)?)`
)

// defaultPatterns are the built-in cmdline-redact patterns, used when the
// config does not set the key. Each hides its capture group.
var defaultPatterns = []string{
	// --password=x, -token=x, DB_PASSWORD=x, PGPASSWORD=x in argv (env,
	// docker -e), libpq's password=x, -Dapp.db.password=x, --env=A_TOKEN=x.
	`(?i)(?:^|[\s"',;=])-{0,2}` + secretName + `=(\S+)`,
	// --password x, -token x, --client-secret x (the value does not start
	// with '-', so boolean flags before another flag are left alone).
	`(?i)(?:^|\s)--?` + flagSecretName + `\s+([^\s-]\S*)`,
	// scheme://user:pass@host: the password (which may hold a raw '@').
	`(?i)\b[a-z][a-z0-9+.-]*://[^\s/?#@:]*:([^\s/?#]+)@[^\s/?#@]*(?:[\s/?#]|$)`,
	// mysql -uroot -psecret: mysql-style clients only, where -p takes an
	// attached password (case-sensitive: -P is the port).
	`(?:^|[\s/])` + mysqlClients + `\s(?:.*?\s)?-p(\S+)`,
	// curl -u user:pass, --user user:pass, --proxy-user user:pass.
	`(?:^|[\s/])curl\s(?:.*?\s)?(?:-[uU]\s*|--(?:proxy-)?user(?:\s+|=))[^\s:]*:(\S+)`,
	// Authorization: Bearer x, Proxy-Authorization: Basic x, bare Bearer x.
	`(?i)\b(?:(?:proxy-)?authorization\s*:\s*(?:(?:bearer|basic|token|bot|digest|negotiate)\s+)?|bearer\s+)(\S+)`,
	// X-Api-Key: x, X-Auth-Token: x, Private-Token: x.
	`(?i)(?:^|[\s"'])(?:x-[a-z0-9-]*(?:api-?key|token|secret|auth)|api-?key|private-token)\s*:\s*(\S+)`,
}

// Defaults returns the built-in patterns (a copy), for documentation and
// `proctag check`.
func Defaults() []string {
	return append([]string(nil), defaultPatterns...)
}
