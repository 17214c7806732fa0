package publish

import (
	"context"
	"testing"
)

func TestLink(t *testing.T) {
	var l link
	first := l.context()
	if first.Err() != nil {
		t.Fatal("a new link starts cancelled")
	}
	l.up()
	if l.context() != first {
		t.Fatal("up replaced a live connection's context")
	}
	l.down()
	if first.Err() != context.Canceled || l.context() != first {
		t.Fatalf("after down: %v, want the lost connection's context cancelled and still current", first.Err())
	}
	l.up()
	second := l.context()
	if second == first || second.Err() != nil {
		t.Fatal("up after down did not give the new connection a live context")
	}
	l.down()
	l.down() // twice is harmless
	if second.Err() != context.Canceled {
		t.Fatal("second loss not cancelled")
	}
}
