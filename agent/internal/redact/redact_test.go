package redact

import (
	"strings"
	"testing"
)

func TestDefaults(t *testing.T) {
	r, err := Compile(nil, true)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, in, want string
	}{
		// --flag=value and NAME=value.
		{"password equals", "app --password=hunter2 --port 80", "app --password=*** --port 80"},
		{"single dash go flag", "app -password=hunter2", "app -password=***"},
		{"prefixed flag", "app --db-password=x1 --mysql_passwd=x2", "app --db-password=*** --mysql_passwd=***"},
		{"token flag", "app --token=abc.def", "app --token=***"},
		{"auth token flag", "agent --auth-token=abc", "agent --auth-token=***"},
		{"secret flag", "app --secret=s", "app --secret=***"},
		{"client secret", "oauth --client-secret=cs --client-id=public", "oauth --client-secret=*** --client-id=public"},
		{"api key spellings", "x --api-key=a --apikey=b --api_key=c --API-KEY=d", "x --api-key=*** --apikey=*** --api_key=*** --API-KEY=***"},
		{"access and secret key", "s3 --access-key=AK --secret-key=SK", "s3 --access-key=*** --secret-key=***"},
		{"aws env", "env AWS_SECRET_ACCESS_KEY=abc aws s3 ls", "env AWS_SECRET_ACCESS_KEY=*** aws s3 ls"},
		{"pgpassword env", "PGPASSWORD=pw psql -h db", "PGPASSWORD=*** psql -h db"},
		{"mysql_pwd env", "env MYSQL_PWD=pw mysql", "env MYSQL_PWD=*** mysql"},
		{"github token env", "env GITHUB_TOKEN=ghp_x gh", "env GITHUB_TOKEN=*** gh"},
		{"docker -e", "docker run -e DB_PASSWORD=pw img", "docker run -e DB_PASSWORD=*** img"},
		{"env inside a flag value", "docker run --env=DB_TOKEN=t img", "docker run --env=DB_TOKEN=*** img"},
		{"libpq conninfo", "psql host=db user=app password=pw dbname=x", "psql host=db user=app password=*** dbname=x"},
		{"java system property", "java -Dspring.datasource.password=pw -jar app.jar", "java -Dspring.datasource.password=*** -jar app.jar"},
		{"camel case property", "java -Djavax.net.ssl.keyStorePassword=ks -jar a.jar", "java -Djavax.net.ssl.keyStorePassword=*** -jar a.jar"},
		{"redis requirepass", "redis-server --requirepass=r", "redis-server --requirepass=***"},

		// --flag value.
		{"password space", "app --password hunter2 --port 80", "app --password *** --port 80"},
		{"token space", "app -token abc", "app -token ***"},
		{"client secret space", "app --client-secret cs", "app --client-secret ***"},
		{"api key space", "app --api-key k1", "app --api-key ***"},
		{"redis requirepass space", "redis-server --requirepass r --port 6379", "redis-server --requirepass *** --port 6379"},
		{"openssl pass", "openssl enc -pass pass:pw -in f", "openssl enc -pass *** -in f"},

		// URLs.
		{"url credentials", "app --db postgres://app:pw@db:5432/x", "app --db postgres://app:***@db:5432/x"},
		{"url password only", "redis-cli -u redis://:pw@cache:6379", "redis-cli -u redis://:***@cache:6379"},
		{"url password with at", "app amqp://u:p@ss@mq/vhost", "app amqp://u:***@mq/vhost"},
		{"url email in query", "app https://u:pw@h/p?to=a@b.c", "app https://u:***@h/p?to=a@b.c"},
		{"url at end", "app mongodb://u:pw@h", "app mongodb://u:***@h"},

		// mysql-style clients.
		{"mysql -p", "mysql -uroot -pS3cr3t db", "mysql -uroot -p*** db"},
		{"camel case flag space", "app -dbPassword pw -v", "app -dbPassword *** -v"},
		{"mysqldump path", "/usr/bin/mysqldump -h db -pS3c --all-databases", "/usr/bin/mysqldump -h db -p*** --all-databases"},
		{"mariadb -p", "mariadb -pS db", "mariadb -p*** db"},
		{"mysql after a wrapper", "sh -c mysql -psecret", "sh -c mysql -p***"},
		{"mysql password flag", "mysql --password=pw", "mysql --password=***"},

		// curl.
		{"curl -u", "curl -u admin:pw https://h", "curl -u admin:*** https://h"},
		{"curl --user=", "curl -s --user=admin:pw https://h", "curl -s --user=admin:*** https://h"},

		// Headers.
		{"authorization bearer", "curl -H Authorization: Bearer eyJ.x.y https://h", "curl -H Authorization: Bearer *** https://h"},
		{"authorization no space", "curl --header=Authorization:Basic dXNlcg== h", "curl --header=Authorization:Basic *** h"},
		{"bare bearer", "app --auth-header Bearer tok", "app --auth-header Bearer ***"},
		{"api key header", "curl -H X-Api-Key: k https://h", "curl -H X-Api-Key: *** https://h"},
		{"private token header", "curl -H PRIVATE-TOKEN: glpat https://h", "curl -H PRIVATE-TOKEN: *** https://h"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.Cmdline(tt.in); got != tt.want {
				t.Fatalf("Cmdline(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestDefaultsLeaveOrdinaryArgsAlone(t *testing.T) {
	r, err := Compile(nil, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{
		"app --password-file=/run/secrets/db",
		"app --password-file /run/secrets/db",
		"docker login --password-stdin registry",
		"app --token-ttl=5 --token-ttl 5",
		"app --secret-name=db-creds --secrets-dir /run",
		"app --max-tokens=100",
		"psql --no-password mydb",
		"app --token --verbose",
		"app --bypass=true --compass x",
		"env PWD=/home/app HOME=/root app",
		"mysqld --port=3306 -P 3306 --pid-file=/run/mysqld.pid",
		"ssh -p 2222 host",
		"postgres -p 5432",
		"mysql -P3306 -h db",
		"curl -A agent https://example.com/path",
		"curl --user-agent x https://h",
		"docker run -u 1000:1000 img",
		"app https://example.com:8443/path",
		"git clone git@github.com:org/repo.git",
		"nginx: worker process",
		"/usr/lib/jvm/java-17/bin/java -Xmx2g -cp /opt/a.jar:/opt/b.jar com.example.Main",
		"sshd: root@pts/0",
		"app --key=/etc/tls/key.pem --cert=/etc/tls/cert.pem",
	} {
		if got := r.Cmdline(in); got != in {
			t.Errorf("Cmdline(%q) = %q, want it unchanged", in, got)
		}
	}
}

func TestCompileUserPatterns(t *testing.T) {
	tests := []struct {
		name     string
		patterns []string
		defaults bool
		in, want string
	}{
		{"no groups hides the whole match", []string{`secret-\d+`}, false, "app secret-123 x", "app *** x"},
		{"each group hides its text", []string{`--user=(\w+):(\w+)`}, false, "app --user=bob:pw", "app --user=***:***"},
		{"non-participating group is left alone", []string{`--(?:a=(\w+)|b=(\w+))`}, false, "x --a=1 --b=2", "x --a=*** --b=***"},
		{"nested groups merge", []string{`k=((\w)\w*)`}, false, "k=abc", "k=***"},
		{"empty group hides nothing", []string{`k=(\w*)`}, false, "k= x", "k= x"},
		{"every match is replaced", []string{`t=(\d)`}, false, "t=1 t=2 t=3", "t=*** t=*** t=***"},
		{"overlapping patterns merge", []string{`(ab)`, `(bc)`}, false, "abcd", "***d"},
		{"patterns all see the original", []string{`(a)`, `\*\*\*`}, false, "ab", "***b"},
		{"user patterns add to the defaults", []string{`ticket=(\S+)`}, true, "app --password=p ticket=t", "app --password=*** ticket=***"},
		{"empty list turns redaction off", nil, false, "app --password=p", "app --password=p"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Compile(tt.patterns, tt.defaults)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Cmdline(tt.in); got != tt.want {
				t.Fatalf("Cmdline(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCompileError(t *testing.T) {
	_, err := Compile([]string{`ok`, `bad(`}, true)
	if err == nil || !strings.HasPrefix(err.Error(), "pattern 1: error parsing regexp: missing closing )") {
		t.Fatalf("Compile() error = %v, want pattern 1 named", err)
	}
}

func TestNilRedactor(t *testing.T) {
	var r *Redactor
	if got := r.Cmdline("app --password=p"); got != "app --password=p" {
		t.Fatalf("nil Redactor changed the cmdline to %q", got)
	}
}

func TestNoMatchDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	r, err := Compile(nil, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{
		"/usr/lib/jvm/java-17/bin/java -Xmx2g -Dspring.profiles.active=prod -jar /opt/app/billing.jar --server.port=8080",
		// Keywords without a secret: the patterns run and find nothing.
		"/usr/local/bin/app --token-ttl=5 --password-file /run/pw --api-version 2",
	} {
		if n := testing.AllocsPerRun(100, func() { _ = r.Cmdline(in) }); n != 0 {
			t.Errorf("Cmdline(%q) allocated %v times, want 0", in, n)
		}
	}
}

func TestDefaultsReturnsACopy(t *testing.T) {
	d := Defaults()
	if len(d) != len(defaultPatterns) {
		t.Fatalf("Defaults() has %d patterns, want %d", len(d), len(defaultPatterns))
	}
	d[0] = "changed"
	if defaultPatterns[0] == "changed" {
		t.Fatal("Defaults() returned the package's slice")
	}
}
