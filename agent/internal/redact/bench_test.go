package redact

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// realisticCmdlines builds n cmdlines shaped like a busy host's: daemons,
// kernel-ish names, interpreters with scripts, JVMs with long class paths,
// and about 2% carrying a secret.
func realisticCmdlines(n int) []string {
	classpath := make([]string, 60)
	for i := range classpath {
		classpath[i] = fmt.Sprintf("/opt/app/lib/dependency-%02d-1.%d.jar", i, i%7)
	}
	shapes := []func(i int) string{
		func(i int) string { return "nginx: worker process" },
		func(i int) string {
			return fmt.Sprintf("/usr/sbin/sshd -D -o AuthorizedKeysCommand=/usr/bin/keys-%d", i%5)
		},
		func(i int) string {
			return fmt.Sprintf("/usr/bin/python3 /srv/app/worker_%d.py --port %d --log-level info", i%40, 8000+i%100)
		},
		func(i int) string {
			return "/usr/lib/jvm/java-17/bin/java -Xmx2g -XX:+UseG1GC -Dspring.profiles.active=prod -cp " + strings.Join(classpath, ":") + " com.example.billing.Main"
		},
		func(i int) string {
			return fmt.Sprintf("postgres: 14/main: app billing 10.0.%d.%d(5432) idle", i%256, i%200)
		},
		func(i int) string {
			return fmt.Sprintf("/usr/bin/containerd-shim-runc-v2 -namespace k8s.io -id %064x -address /run/containerd/containerd.sock", i)
		},
		func(i int) string {
			return fmt.Sprintf("node /srv/web/server.js --max-old-space-size=4096 --inspect=0.0.0.0:%d", 9229+i%10)
		},
		func(i int) string { return "/usr/lib/systemd/systemd-journald" },
		func(i int) string { return fmt.Sprintf("sleep %d", i) },
		func(i int) string {
			return fmt.Sprintf("/usr/local/bin/app --config /etc/app/%d.yaml --token-ttl=%d", i%9, i%60)
		},
	}
	secrets := []func(i int) string{
		func(i int) string {
			return fmt.Sprintf("/usr/local/bin/exporter --db postgres://exp:pw%d@db:5432/metrics", i)
		},
		func(i int) string { return fmt.Sprintf("mysql -uroot -pS%d -h db app", i) },
		func(i int) string { return fmt.Sprintf("/usr/bin/app --api-key=k%d --port 80", i) },
	}
	out := make([]string, n)
	for i := range out {
		if i%50 == 49 {
			out[i] = secrets[i%len(secrets)](i)
		} else {
			out[i] = shapes[i%len(shapes)](i)
		}
	}
	return out
}

// BenchmarkCmdline redacts 10k cmdlines per op with the defaults, beside
// a baseline of one trivial regexp per cmdline.
func BenchmarkCmdline(b *testing.B) {
	lines := realisticCmdlines(10000)
	bytes := 0
	for _, l := range lines {
		bytes += len(l)
	}
	r, err := Compile(nil, true)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("defaults", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(bytes))
		for b.Loop() {
			for _, l := range lines {
				_ = r.Cmdline(l)
			}
		}
	})
	off, err := Compile(nil, false)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("off", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(bytes))
		for b.Loop() {
			for _, l := range lines {
				_ = off.Cmdline(l)
			}
		}
	})
	one := regexp.MustCompile(`--password=(\S+)`)
	b.Run("baseline_one_regexp", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(bytes))
		for b.Loop() {
			for _, l := range lines {
				_ = one.MatchString(l)
			}
		}
	})
}
