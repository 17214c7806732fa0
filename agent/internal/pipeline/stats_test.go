package pipeline

import (
	"os"
	"slices"
	"testing"
)

// TestTickStepStats checks the per-step stats of a tick: the steps that
// ran, in order, each with a duration and whether it worked.
func TestTickStepStats(t *testing.T) {
	type want struct {
		step Step
		ok   bool
	}
	tests := []struct {
		name string
		// tagOut is the tag command's output; "" configures none.
		tagOut string
		// removeRoot makes the scan fail.
		removeRoot bool
		want       []want
		wantErr    bool
	}{
		{name: "no tag command: the tags step does not run",
			want: []want{{StepScan, true}, {StepRules, true}, {StepSockets, true}}},
		{name: "a tag command that works", tagOut: "- pid: 812\n  tags: [{key: team, value: a}]\n",
			want: []want{{StepScan, true}, {StepTags, true}, {StepRules, true}, {StepSockets, true}}},
		{name: "a tag command that fails: the tick goes on", tagOut: "- pid: [\n",
			want: []want{{StepScan, true}, {StepTags, false}, {StepRules, true}, {StepSockets, true}}},
		{name: "a failed scan ends the tick", removeRoot: true, wantErr: true,
			want: []want{{StepScan, false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := basicTree(t)
			p := newPipeline(t, root, nil, false, tt.tagOut)
			if tt.removeRoot {
				if err := os.RemoveAll(root); err != nil {
					t.Fatal(err)
				}
			}
			_, st, err := p.Tick(t.Context())
			if (err != nil) != tt.wantErr {
				t.Fatalf("Tick error %v, want an error: %v", err, tt.wantErr)
			}
			var got []want
			var sum int64
			for _, s := range st.Steps {
				got = append(got, want{s.Step, s.OK})
				if s.Duration < 0 {
					t.Errorf("step %s took %v", s.Step, s.Duration)
				}
				sum += int64(s.Duration)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("steps %v, want %v", got, tt.want)
			}
			if int64(st.Duration) < sum {
				t.Errorf("tick took %v, less than its steps together (%v)", st.Duration, sum)
			}
			if s, ok := st.Step(StepScan); !ok || s.Step != StepScan {
				t.Errorf("Step(StepScan) = %+v, %v", s, ok)
			}
		})
	}
}
