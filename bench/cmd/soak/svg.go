package main

import (
	"fmt"
	"os"
	"strings"
)

// drawSVG draws resident memory and the Go heap in use (MiB) over time (s)
// as a line chart.
func drawSVG(path string, ss []sample) error {
	const w, h, pad = 800.0, 300.0, 50.0
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="12">`+"\n", w, h)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	if len(ss) > 1 {
		maxT := ss[len(ss)-1].at.Seconds()
		maxR := maxOf(ss, func(s sample) float64 { return s.rss }) / (1 << 20) * 1.1
		x := func(t float64) float64 { return pad + (w-2*pad)*t/maxT }
		y := func(r float64) float64 { return h - pad - (h-2*pad)*r/maxR }
		line := func(color string, get func(sample) float64) {
			var pts []string
			for _, s := range ss {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(s.at.Seconds()), y(get(s)/(1<<20))))
			}
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`+"\n", color, strings.Join(pts, " "))
		}
		line("#1f77b4", func(s sample) float64 { return s.rss })
		line("#ff7f0e", func(s sample) float64 { return s.heap })
		fmt.Fprintf(&b, `<text x="%.0f" y="45" fill="#1f77b4">resident</text><text x="%.0f" y="45" fill="#ff7f0e">Go heap in use</text>`+"\n", w-pad-150, w-pad-90)
		fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="black"/>`+"\n", pad, h-pad, w-pad, h-pad)
		fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="black"/>`+"\n", pad, pad, pad, h-pad)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="middle">time (s), 0 to %.0f</text>`+"\n", w/2, h-15, maxT)
		fmt.Fprintf(&b, `<text x="15" y="%.0f" transform="rotate(-90 15 %.0f)" text-anchor="middle">memory (MiB), 0 to %.0f</text>`+"\n", h/2, h/2, maxR)
	}
	b.WriteString(`<text x="400" y="25" text-anchor="middle">proctag soak: memory</text>` + "\n</svg>\n")
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
