package streams

import (
	"fmt"
	"strconv"
)

// Named is the prefix of the branches' names of a Split (Kafka Streams' Named.as("p-")).
type Named string

// Branched names one branch of a Split (Kafka Streams' Branched.as("a")).
type Branched struct{ Name string }

// BranchedAs gives Kafka Streams' Branched.as(name).
func BranchedAs(name string) Branched { return Branched{name} }

// BranchedStream is a Split being built (Kafka Streams' BranchedKStream): each record goes to
// the first branch whose predicate holds, else to the default branch if there is one (else it is
// dropped). DefaultBranch or NoDefaultBranch ends it and gives the branches by name.
type BranchedStream[K, V any] struct {
	s        *Stream[K, V]
	prefix   string
	names    []string
	preds    []func(K, V) bool
	finished bool
}

// Split starts named branches (Kafka Streams' split(), split(Named.as(prefix))):
//
//	m := s.Split(streams.Named("p-")).Branch(isA, streams.BranchedAs("a")).Branch(isB).DefaultBranch()
//	// m["p-a"], m["p-2"] (an unnamed branch: its position from 1), m["p-0"] (the default's)
func (s *Stream[K, V]) Split(prefix ...Named) *BranchedStream[K, V] {
	p := ""
	for _, n := range prefix {
		p += string(n)
	}
	return &BranchedStream[K, V]{s: s, prefix: p}
}

func (bs *BranchedStream[K, V]) name(branched []Branched, unnamed string) string {
	if len(branched) > 0 && branched[0].Name != "" {
		return bs.prefix + branched[0].Name
	}
	return bs.prefix + unnamed
}

// Branch adds a branch of the records for which pred holds (and no earlier branch's), named
// prefix + the Branched name, or prefix + its position from 1 without one.
func (bs *BranchedStream[K, V]) Branch(pred func(K, V) bool, branched ...Branched) *BranchedStream[K, V] {
	b := bs.s.b
	switch {
	case bs.finished:
		b.fail(&Error{Kind: "invalid_argument", Message: "Branch after DefaultBranch/NoDefaultBranch: this split is finished"})
	case pred == nil:
		b.fail(&Error{Kind: "invalid_argument", Message: "Branch needs a predicate (it is nil)"})
	default:
		bs.names = append(bs.names, bs.name(branched, strconv.Itoa(len(bs.preds)+1)))
		bs.preds = append(bs.preds, pred)
	}
	return bs
}

// DefaultBranch ends the split with a branch of the records no predicate took, named prefix +
// the Branched name, or prefix + "0" without one; gives every branch by name.
func (bs *BranchedStream[K, V]) DefaultBranch(branched ...Branched) map[string]*Stream[K, V] {
	return bs.finish(bs.name(branched, "0"), true)
}

// NoDefaultBranch ends the split, dropping the records no predicate took; gives every branch by
// name.
func (bs *BranchedStream[K, V]) NoDefaultBranch() map[string]*Stream[K, V] {
	return bs.finish("", false)
}

func (bs *BranchedStream[K, V]) finish(def string, withDefault bool) map[string]*Stream[K, V] {
	s, b := bs.s, bs.s.b
	out := map[string]*Stream[K, V]{}
	if bs.finished {
		b.fail(&Error{Kind: "invalid_argument", Message: "this split is already finished"})
		return out
	}
	bs.finished = true
	names := append([]string(nil), bs.names...)
	if withDefault {
		names = append(names, def)
	}
	if len(names) == 0 {
		b.fail(&Error{Kind: "invalid_argument", Message: "a split without branches (Branch or DefaultBranch)"})
		return out
	}
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			b.fail(&Error{Kind: "invalid_argument", Message: fmt.Sprintf("two branches of a split are named %q", n)})
			return out
		}
		seen[n] = true
	}
	preds := bs.preds
	node := b.c.split(s.node, len(names))
	c, vc := codecOf(s.ks), codecOf(s.vs)
	b.setOp(node, &userOp{
		step: func(k, v any, emit emitFn) error {
			kk, vv := as[K](k), as[V](v)
			for i, p := range preds {
				if p(kk, vv) {
					return emit(uint32(i), k, v)
				}
			}
			if withDefault {
				return emit(uint32(len(preds)), k, v)
			}
			return nil
		},
		keyIn: c, valIn: vc, keyOut: c, valOut: vc,
	})
	for i, n := range names {
		out[n] = &Stream[K, V]{b, b.c.branch(node, i), s.ks, s.vs}
	}
	return out
}
