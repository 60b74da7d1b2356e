package kcase

import (
	"errors"
	"testing"
)

func TestK1KeptMatchesTheFilter(t *testing.T) {
	for _, n := range []int64{1, 2, 3, 4, 5, 7, 8, 1000, 5001} {
		var want int64
		for i := int64(0); i < n; i++ {
			if i%4 != 0 {
				want++
			}
		}
		if got := (Args{Records: n}).K1Kept(); got != want {
			t.Errorf("K1Kept(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestIndexNamesAShortValue(t *testing.T) {
	if i, err := Index([]byte{0, 0, 0, 0, 0, 0, 1, 2, 'x'}); err != nil || i != 258 {
		t.Errorf("Index = %d, %v; want 258", i, err)
	}
	if _, err := Index([]byte{1, 2, 3}); !errors.Is(err, ErrShortValue) {
		t.Errorf("Index of 3 bytes: %v, want ErrShortValue", err)
	}
}

func TestWindowDoneWhenTheCountsAddUp(t *testing.T) {
	w := NewWindow(Args{Records: 5, Keys: 2})
	w.Count("k0", 1)
	w.Count("k1", 1)
	w.Count("k0", 2)
	w.Count("k0", 3)
	select {
	case <-w.Done():
		t.Fatal("done after 4 of 5 records")
	default:
	}
	w.Count("k1", 2)
	select {
	case <-w.Done():
	default:
		t.Fatal("not done after the counts added up to 5")
	}
}
