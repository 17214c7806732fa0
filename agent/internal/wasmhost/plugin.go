package wasmhost

import (
	"errors"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/go-hclog"
	"github.com/proctag/proctag/agent/internal/sandbox"
)

// plugin is one loaded version of a plugin as the step runs it: the
// sandbox's Plugin, with the step's circuit breaker, tick budget, counters
// and once-only log flags. A reload makes a new one (a new breaker too);
// the counters are the plugin name's and survive it.
type plugin struct {
	*sandbox.Plugin
	name       string
	tenant     string // "" for the operator's plugins
	gen        uint64
	tickBudget time.Duration
	instances  int
	breaker    *breaker
	stats      *counters
	logger     hclog.Logger
	// defaultFields is PluginSpec.DefaultFields.
	defaultFields bool

	loggedFaults     [sandbox.NumFaultKinds]atomic.Bool
	loggedViolations atomic.Bool
	loggedBudget     atomic.Bool
}

// noteFault counts a fault and logs the first one of each kind.
func (p *plugin) noteFault(err error) {
	f, ok := errors.AsType[*sandbox.Fault](err)
	if !ok {
		return
	}
	p.stats.faults[f.Kind].Add(1)
	msg := cutText(f.Error())
	p.stats.lastFault.Store(&msg)
	if !p.loggedFaults[f.Kind].Swap(true) {
		p.logger.Warn("plugin fault, previous results kept", "kind", f.Kind.String(), "error", cutText(f.Err.Error()))
	}
}

// maxFaultText bounds a fault's text in the log and the stats: a trap's
// message carries the guest's stack trace, which the guest shapes.
const maxFaultText = 2048

// cutText cuts s to maxFaultText bytes (on a rune boundary) and makes it
// valid UTF-8.
func cutText(s string) string {
	if len(s) > maxFaultText {
		i := maxFaultText
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		s = s[:i] + " …(cut)"
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// noteViolation counts a rejected output, as a violation and as a grant
// fault, and logs the first one.
func (p *plugin) noteViolation(v *sandbox.Violation) {
	p.stats.violations.Add(1)
	p.stats.faults[sandbox.FaultGrant].Add(1)
	msg := v.Error()
	p.stats.lastFault.Store(&msg)
	if !p.loggedViolations.Swap(true) {
		p.logger.Warn("plugin output rejected, previous results kept", "kind", sandbox.FaultGrant.String(), "reason", v.Reason)
	}
}

// noteBreaker logs a breaker transition.
func (p *plugin) noteBreaker(state BreakerState, changed bool) {
	if !changed {
		return
	}
	switch state {
	case BreakerOpen:
		_, until := p.breaker.snapshot()
		p.stats.breakerOpens.Add(1)
		p.logger.Warn("plugin circuit open", "until", until.Format(time.RFC3339))
	case BreakerClosed:
		p.logger.Info("plugin circuit closed")
	}
}
