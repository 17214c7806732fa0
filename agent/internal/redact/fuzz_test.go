package redact

import (
	"strings"
	"testing"
)

// secretForms place a secret where a default pattern must find it. strip
// lists the characters the form's syntax cannot carry inside the secret.
var secretForms = []struct {
	before, after, strip string
}{
	{" --password=", "", ""},
	{" --password ", "", ""},
	{" -token ", "", ""},
	{" PGPASSWORD=", "", ""},
	{" mysql -uroot -p", "", ""},
	{" postgres://app:", "@db:5432/x", "/?#"},
	{" Authorization: Bearer ", "", ""},
	{" --api-key=", "", ""},
	{" --client-secret ", "", ""},
	{" curl -u admin:", "", ""},
	{" -Dapp.db.password=", "", ""},
	{" redis://:", "@cache", "/?#"},
}

func FuzzCmdline(f *testing.F) {
	// A plain flag between ordinary arguments.
	f.Add("/usr/bin/app --port 80", "hunter2", "--verbose", uint8(0))
	// The space form after a boolean flag.
	f.Add("psql --no-password", "pw", "db", uint8(1))
	// A prefix that ends like a header name.
	f.Add("curl -H Authorization:", "tok", "https://h", uint8(6))
	// A password with a raw '@' in a URL.
	f.Add("app", "p@ss", "", uint8(5))
	// A mysql prefix with its own -p.
	f.Add("mysql -pfirst", "second", "db", uint8(4))
	// Non-UTF-8 and control bytes around the secret.
	f.Add("\xff\x00app", "s\xfe\x01", "\t\v", uint8(3))
	r, err := Compile(nil, true)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, prefix, secret, suffix string, form uint8) {
		// The whole string must never make Cmdline panic.
		_ = r.Cmdline(prefix + secret + suffix)

		fm := secretForms[int(form)%len(secretForms)]
		secret = strings.Map(func(c rune) rune {
			if strings.ContainsRune(" \t\n\f\r*"+fm.strip, c) {
				return -1
			}
			return c
		}, secret)
		// A fixed head keeps the secret from starting with '-' and makes it
		// distinctive.
		secret = "Zq" + secret
		if strings.Contains(prefix, secret) || strings.Contains(suffix, secret) {
			t.Skip("the secret also appears outside its position")
		}
		in := prefix + fm.before + secret + fm.after + " " + suffix
		out := r.Cmdline(in)
		if strings.Contains(out, secret) {
			t.Fatalf("Cmdline(%q) = %q still holds %q", in, out, secret)
		}
	})
}

// FuzzPrefilter checks that the keyword gate never skips a default pattern
// that would match.
func FuzzPrefilter(f *testing.F) {
	// One seed per default pattern, each a match.
	f.Add("--PassWord=x")
	f.Add("-dbToken value")
	f.Add("HTTPS://u:p@h")
	f.Add("mariadb-dump -pX")
	f.Add("/usr/bin/curl -U a:b")
	f.Add("proxy-AUTHORIZATION: x")
	f.Add("X-Custom-API-KEY: k")
	// No keyword at all.
	f.Add("nginx: worker process")
	// Unicode case folding: long s and the Kelvin sign.
	f.Add("--pa\u017f\u017fword=x --api-\u212aey=y")
	r, err := Compile(nil, true)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		present := keywordsIn(s)
		for i, ru := range r.rules {
			if present&ru.needs == 0 && ru.re.MatchString(s) {
				t.Fatalf("pattern %d matches %q but its keywords %b are not in %b", i, s, ru.needs, present)
			}
		}
	})
}
