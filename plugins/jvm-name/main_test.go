package main

import (
	"strings"
	"testing"

	"github.com/proctag/proctag/abi"
	"github.com/proctag/proctag/sdk"
)

// run calls the handler on a process made from a command line, the way the
// agent fills in the record.
func run(t *testing.T, cmdline string) (string, bool) {
	t.Helper()
	argv := strings.Fields(cmdline)
	p := &sdk.Process{Record: abi.Record{ProcessName: base(argv[0]), Argv: argv, Cmdline: cmdline}}
	p.Name = p.ProcessName
	var out sdk.Result
	handle(p, &out)
	if len(out.Tags()) > 0 || len(out.RemovedTags()) > 0 || out.Dropped() {
		t.Errorf("handler did more than rename: %+v", out)
	}
	return out.Renamed()
}

func TestHandle(t *testing.T) {
	tests := []struct {
		name    string
		cmdline string
		want    string // "" = unchanged
	}{
		{"java -jar", "/usr/bin/java -Xmx1g -Dspring.profiles.active=prod -jar /srv/billing.jar --port 80", "billing"},
		{"java -jar relative", "java -jar app-1.2.jar", "app-1.2"},
		{"java main class after classpath", "java -cp /srv/lib/*:/srv/classes org.apache.catalina.startup.Bootstrap start", "Bootstrap"},
		{"java -classpath and -XX", "java -XX:+UseG1GC -classpath a.jar -javaagent:/o/agent.jar com.acme.Main arg", "Main"},
		{"java --class-path then module path", "java --class-path a.jar -p mods --add-opens java.base/java.lang=ALL-UNNAMED com.acme.App", "App"},
		{"java -m module/class", "java -p mods -m acme.billing/org.acme.billing.Main", "Main"},
		{"java --module=module/class", "java --module=acme.billing/org.acme.Server", "Server"},
		{"java single-file source", "java Hello.java", "Hello"},
		{"java class in default package", "java Main", "Main"},
		{"java argfile only", "java @/srv/args.txt", ""},
		{"java -version", "java -version", ""},
		{"java -jar without jar", "java -jar", ""},
		{"javaw", "javaw -jar tool.jar", "tool"},
		{"python script", "python3 -u /srv/app/worker.py --queue x", "worker"},
		{"python -m module", "python3 -m celery worker -A proj", "celery"},
		{"python -m attached", "python3 -mhttp.server 8000", "http.server"},
		{"python -W value skipped", "python3.11 -W ignore /srv/job.py", "job"},
		{"python -c", "python3 -c print(1)", ""},
		{"python __main__ takes folder", "python /srv/billing/__main__.py", "billing"},
		{"python venv entry point", "/venv/bin/python3 /venv/bin/gunicorn app:app", "gunicorn"},
		{"python REPL", "python3", ""},
		{"node script", "node server.js", "server"},
		{"node require skipped", "node --require dotenv/config /srv/api/server.mjs", "api"},
		{"node index takes folder", "node /srv/billing/index.js", "billing"},
		{"node option with value attached", "node --max-old-space-size=4096 --inspect=0.0.0.0:9229 worker.cjs", "worker"},
		{"node -e", "node -e console.log(1)", ""},
		{"node index in src takes file name", "node src/index.js", "index"},
		{"other program", "/usr/sbin/nginx -g daemon off;", ""},
		{"java alone", "java", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, renamed := run(t, tt.cmdline)
			if tt.want == "" {
				if renamed {
					t.Errorf("%q renamed to %q, want unchanged", tt.cmdline, got)
				}
				return
			}
			if !renamed || got != tt.want {
				t.Errorf("%q named %q (renamed %v), want %q", tt.cmdline, got, renamed, tt.want)
			}
		})
	}
}

func TestHandleKeepsAlreadyRightName(t *testing.T) {
	p := &sdk.Process{Record: abi.Record{Name: "billing", ProcessName: "java", Argv: []string{"java", "-jar", "billing.jar"}}}
	var out sdk.Result
	handle(p, &out)
	if out.Changed() {
		t.Errorf("result %+v, want unchanged when the name is already right", out)
	}
}

func TestConfigure(t *testing.T) {
	tests := []struct {
		config  string
		wantErr bool
		want    string
	}{
		{"", false, "Bootstrap"},
		{"full", false, "org.apache.catalina.startup.Bootstrap"},
		{" full\n", false, "org.apache.catalina.startup.Bootstrap"},
		{"short", true, ""},
	}
	t.Cleanup(func() { fullClassName = false })
	for _, tt := range tests {
		t.Run(tt.config, func(t *testing.T) {
			err := configure([]byte(tt.config))
			if (err != nil) != tt.wantErr {
				t.Fatalf("configure(%q) = %v, want error %v", tt.config, err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if got, _ := run(t, "java -cp x org.apache.catalina.startup.Bootstrap start"); got != tt.want {
				t.Errorf("name = %q, want %q", got, tt.want)
			}
		})
	}
}

// FuzzHandle checks that no command line makes the handler panic or
// produce a name with a space or a slash.
func FuzzHandle(f *testing.F) {
	f.Add("java\x00-jar\x00/srv/x.jar") // jar
	f.Add("python3\x00-m\x00")          // -m without a module
	f.Add("node\x00--require\x00")      // option value missing
	f.Add("java\x00--module=\x00")      // empty module spec
	f.Add("node\x00/index.js")          // index at the root
	f.Fuzz(func(t *testing.T, cmdline string) {
		argv := strings.Split(cmdline, "\x00")
		p := &sdk.Process{Record: abi.Record{ProcessName: base(argv[0]), Argv: argv}}
		var out sdk.Result
		handle(p, &out)
		if name, ok := out.Renamed(); ok && strings.Contains(name, "/") {
			t.Errorf("name %q from %q contains a slash", name, argv)
		}
	})
}
