# proctag — see README.md. `make run` runs the agent, `make test` runs every check CI runs.

GO        ?= go
BIN       := bin/proctag
CONFIG    ?= testdata/config/demo.yaml
PKGS      := ./...
GOFLAGS   ?=
export GOFLAGS

# Version stamping (`proctag version`, agent_version in snapshots, proctag_build_info):
# git describe's version (0.0.0-dev outside a git checkout), the commit, and the build
# date (SOURCE_DATE_EPOCH when set, for reproducible builds). Override any on the
# command line: make build VERSION=v1.2.3.
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.0.0-dev)
COMMIT    ?= $(shell c=$$(git rev-parse HEAD 2>/dev/null) && { git diff --quiet HEAD 2>/dev/null && echo $$c || echo $$c-dirty; })
DATE      ?= $(shell date -u -d "@$${SOURCE_DATE_EPOCH:-$$(date +%s)}" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null)
BUILDINFO := github.com/proctag/proctag/agent/internal/buildinfo
GO_LDFLAGS = -X $(BUILDINFO).version=$(VERSION) -X $(BUILDINFO).commit=$(COMMIT) -X $(BUILDINFO).date=$(DATE)

# make install: PREFIX for the binary; the unit goes to /etc/systemd/system, or to
# $(PREFIX)/lib/systemd/system for a /usr (package) install; DESTDIR stages it all.
PREFIX      ?= /usr/local
DESTDIR     ?=
BINDIR      ?= $(PREFIX)/bin
UNITDIR     ?= $(if $(filter /usr,$(PREFIX)),$(PREFIX)/lib/systemd/system,/etc/systemd/system)
SYSUSERSDIR ?= $(if $(filter /usr,$(PREFIX)),$(PREFIX)/lib/sysusers.d,/etc/sysusers.d)
DOCDIR      ?= $(PREFIX)/share/doc/proctag
CONFDIR     ?= /etc/proctag
DEPLOY      := agent/deploy/systemd

.PHONY: all build run test lint vet fmt-check bench plugins deps node-deps install clean fuzz soak

all: build

## deps: Debian packages the build and tests need: wabt (wat2wasm, for the hand-written
## WebAssembly plugin) and util-linux (setpriv, for the least-privilege test). Installed
## with apt-get; where there is no apt-get (or no root), make says what to install.
DEPS := wat2wasm:wabt setpriv:util-linux
deps:
	@missing=""; for d in $(DEPS); do \
		command -v $${d%%:*} >/dev/null 2>&1 || missing="$$missing $${d#*:}"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if ! command -v apt-get >/dev/null 2>&1; then \
		echo "make deps: please install these packages with your system's package manager:$$missing" >&2; \
		echo "  (wabt provides wat2wasm, util-linux provides setpriv; there is no apt-get here)" >&2; exit 1; fi; \
	if [ "$$(id -u)" != 0 ]; then \
		echo "make deps: missing$$missing; run as root, or: sudo apt-get install -y$$missing" >&2; exit 1; fi; \
	echo "installing$$missing"; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null

## node-deps: the npm packages of examples/node-subscriber (nats, fzstd; exact versions from its
## package-lock.json), which agent/snapshot/wireconf's TestNodeSubscriberFollowsTheAgent runs with
## Node.js. Without node or npm, installs Debian's nodejs and npm with apt-get (as root), or says so.
NODE_EXAMPLE := examples/node-subscriber
node-deps:
	@if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then \
		if ! command -v apt-get >/dev/null 2>&1 || [ "$$(id -u)" != 0 ]; then \
			echo "make node-deps: please install Node.js 20 or later and npm (Debian: apt-get install -y nodejs npm)" >&2; exit 1; fi; \
		echo "installing nodejs npm"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; fi
	cd $(NODE_EXAMPLE) && npm ci --no-audit --no-fund

## build: the proctag binary in bin/, stamped with VERSION, COMMIT and DATE; static unless
## CGO_ENABLED=1 (see the README).
CGO_ENABLED ?= 0
build:
	CGO_ENABLED=$(CGO_ENABLED) $(GO) build -ldflags "$(GO_LDFLAGS)" -o $(BIN) ./agent/cmd/proctag

## install: bin/proctag to $(BINDIR), the hardened systemd unit, the sysusers.d entry, the
## tag-exec drop-in (as an example, in $(DOCDIR)) and an example config to
## $(CONFDIR)/proctag.yaml unless one is there; without DESTDIR it also creates the system
## user proctag (useradd) and installs the config 0640 root:proctag (it may hold credentials).
install: build
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(DOCDIR) $(DESTDIR)$(CONFDIR)
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/proctag
	sed 's|/usr/local/bin/proctag|$(BINDIR)/proctag|' $(DEPLOY)/proctag.service > $(DESTDIR)$(UNITDIR)/proctag.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/proctag.service
	install -m 0644 $(DEPLOY)/proctag.sysusers $(DESTDIR)$(SYSUSERSDIR)/proctag.conf
	install -m 0644 $(DEPLOY)/tag-exec.conf $(DEPLOY)/ebpf.conf $(DEPLOY)/proctag.yaml $(DESTDIR)$(DOCDIR)/
	@if [ -z "$(DESTDIR)" ] && ! id proctag >/dev/null 2>&1; then \
		if command -v useradd >/dev/null 2>&1; then \
			useradd --system --user-group --home-dir /var/lib/proctag --no-create-home \
				--shell /usr/sbin/nologin --comment "proctag agent" proctag && echo "created the system user proctag"; \
		else echo "no useradd here: create the system user proctag ($(SYSUSERSDIR)/proctag.conf) before starting the service"; fi; \
	fi
	@if [ -e $(DESTDIR)$(CONFDIR)/proctag.yaml ]; then \
		echo "keeping $(DESTDIR)$(CONFDIR)/proctag.yaml (the example is in $(DESTDIR)$(DOCDIR))"; \
	elif [ -z "$(DESTDIR)" ] && id proctag >/dev/null 2>&1; then \
		install -m 0640 -g proctag $(DEPLOY)/proctag.yaml $(CONFDIR)/proctag.yaml; \
	else install -m 0644 $(DEPLOY)/proctag.yaml $(DESTDIR)$(CONFDIR)/proctag.yaml; fi
	@if [ -z "$(DESTDIR)" ]; then echo "installed; start it with: systemctl daemon-reload && systemctl enable --now proctag"; fi

## plugins: every example plugin under plugins/ to plugins/<name>/<name>.wasm.
plugins: deps
	$(MAKE) -C plugins

## run: the agent on the embedded NATS server against the real /proc, with the demo config.
run: build plugins
	$(BIN) run --config $(CONFIG)

## lint: gofmt and go vet must be clean.
lint: fmt-check vet

fmt-check:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	if [ -n "$$out" ]; then echo "gofmt needs to run on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

## test: lint, then every test with the race detector, the timing-dependent packages three
## times without it, then every fuzz target for $(FUZZSHORT) each (its seeds plus a short random search), then a $(SOAKSHORT) soak.
FUZZSHORT ?= 3s
SOAKSHORT ?= 60s
test: deps node-deps lint plugins build
	$(GO) test -race -count=1 -timeout 30m $(PKGS)
	$(GO) test -count=3 -timeout 15m $(TIMING)
	cd bench && $(GO) vet ./... && $(GO) test -count=1 ./cmd/...
	GO=$(GO) .ci/fuzz.sh $(FUZZSHORT)
	$(MAKE) --no-print-directory soak SOAK=$(SOAKSHORT)

## TIMING: the packages whose tests depend on timing, run again without -race (which slows
## everything alike and so hides orderings that a faster run shows) and several times.
TIMING := ./agent/internal/publish ./agent/snapshot/... ./agent/internal/waitfor ./agent/internal/sandbox ./agent/internal/wasmhost

## fuzz: every Fuzz target of both modules (the main one and bench/), found with
## `go test -list`, one at a time for $(FUZZTIME) each. A failure leaves the input in the
## package's testdata/fuzz/FuzzName/<hash>: fix the bug and commit that file, which
## `go test` then runs as a regression seed on every run.
FUZZTIME ?= 60s
fuzz:
	GO=$(GO) .ci/fuzz.sh $(FUZZTIME)

## soak: the agent with the example plugins and the embedded NATS server against churning
## processes and connections for $(SOAK); fails when memory, goroutines or open files keep
## growing, and draws resident memory and the Go heap over time in $(SOAKSVG).
SOAK    ?= 5m
SOAKSVG ?= bin/soak-rss.svg
soak: build plugins
	cd bench && $(GO) run ./cmd/soak -proctag ../$(BIN) -plugins ../plugins/dist -duration $(SOAK) -svg ../$(SOAKSVG)

## bench: the benchmarks side by side with their baselines (bench/, then the main module's of
## issues 4 and 5: 1s for the µs ones, 3x for the 10k/100k ones), and the targets of issues 3-5.
## The 10k/100k scans of bench/ run 3 times 5 ticks; the ratios use the median run. The ABI
## decoder also runs inside a wasm guest, under wazero's CLI built from the module cache.
## Last, bench/cmd/realhost measures bin/proctag on this machine's real kernel (≈ 6 min),
## and bench/cmd/fleet 1,000 simulated hosts on a 3-node cluster, one subscriber (≈ 5 min).
bench: plugins build
	cd bench && $(GO) test -run '^$$' -bench . -benchmem -benchtime 5x -count 3 -timeout 60m ./... | tee /tmp/proctag-bench.txt
	$(GO) test -p 1 -run '^$$' -bench '^Benchmark(ReadTCP|ReadTCPProcfs|Evaluate|CallDeadline|SDKTemplate|SDKTemplateGrant|ExportCall|LoopCheck|InstanceStart|Compile|ApplySteady|ApplyChanged|WasmProcess|WasmProcessBatch100)$$' \
		-benchmem -benchtime 1s -timeout 30m ./agent/internal/sockets ./agent/internal/rules ./agent/internal/sandbox ./agent/internal/wasmhost ./sdk | tee -a /tmp/proctag-bench.txt
	$(GO) build -o bin/wazero github.com/tetratelabs/wazero/cmd/wazero
	GOOS=wasip1 GOARCH=wasm $(GO) test -exec "$(CURDIR)/bin/wazero run" -run '^$$' -bench '^BenchmarkDecodeBatch64$$' \
		-benchmem -benchtime 1s -count 3 ./abi | tee -a /tmp/proctag-bench.txt
	$(GO) test -p 1 -run '^$$' -bench '^Benchmark(EncodeFull|DiffFull|WirePerTick|AssemblerDelta|AssemblerFull|PublishFull|PublishTick)$$' \
		-benchmem -benchtime 3x -timeout 30m ./agent/snapshot ./agent/internal/publish | tee -a /tmp/proctag-bench.txt
	cd bench && $(GO) run ./cmd/ratios < /tmp/proctag-bench.txt
	cd bench && $(GO) run ./cmd/realhost -proctag $(CURDIR)/bin/proctag | tee -a /tmp/proctag-bench.txt
	cd bench && $(GO) run ./cmd/fleet | tee -a /tmp/proctag-bench.txt

clean:
	rm -rf bin
	$(MAKE) -C plugins clean

## generate: the eBPF objects of agent/internal/tcpevents and fditer and their Go loaders (committed, so
## that build and test need no clang), rebuilt from their bpf/*.c with cilium/ebpf's
## bpf2go; bpf/vmlinux.h (not committed, ~3 MB) is written from the running kernel's BTF.
## clang, llvm, libbpf-dev and bpftool are installed with apt-get when missing.
GENDEPS := clang:clang llvm-strip:llvm bpftool:bpftool /usr/include/bpf/bpf_helpers.h:libbpf-dev
.PHONY: generate
generate:
	@missing=""; for d in $(GENDEPS); do \
		command -v $${d%%:*} >/dev/null 2>&1 || [ -e $${d%%:*} ] || missing="$$missing $${d#*:}"; done; \
	if [ -n "$$missing" ]; then \
		if ! command -v apt-get >/dev/null 2>&1 || [ "$$(id -u)" != 0 ]; then \
			echo "make generate: please install$$missing (as root: apt-get install -y$$missing)" >&2; exit 1; fi; \
		echo "installing$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi
	bpftool btf dump file /sys/kernel/btf/vmlinux format c > agent/internal/tcpevents/bpf/vmlinux.h
	$(GO) generate ./agent/internal/tcpevents ./agent/internal/fditer
