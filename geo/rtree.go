package geo

import (
	"math"
	"slices"

	"github.com/paulmach/orb"
)

// rtreeFanout is the node capacity of the R-tree.
const rtreeFanout = 16

// rtree is a static R-tree packed with the Sort-Tile-Recursive algorithm
// (Leutenegger, Lopez, Edgington 1997). It is built once and only read
// afterwards, so it is safe for concurrent queries.
type rtree struct {
	items []rtreeItem
	nodes []rtreeNode // children of a node are contiguous
	root  int         // index into nodes, -1 when empty
}

type rtreeItem struct {
	b  orb.Bound
	id int32
}

type rtreeNode struct {
	b          orb.Bound
	start, end int32 // range in items (leaf) or nodes (inner)
	leaf       bool
}

func newRtree(items []rtreeItem) *rtree {
	t := &rtree{items: items, root: -1}
	if len(items) == 0 {
		return t
	}
	strSort(items, func(it rtreeItem) orb.Bound { return it.b })
	var level []rtreeNode
	for i := 0; i < len(items); i += rtreeFanout {
		j := min(i+rtreeFanout, len(items))
		b := items[i].b
		for _, it := range items[i+1 : j] {
			b = b.Union(it.b)
		}
		level = append(level, rtreeNode{b: b, start: int32(i), end: int32(j), leaf: true})
	}
	for len(level) > 1 {
		strSort(level, func(n rtreeNode) orb.Bound { return n.b })
		base := len(t.nodes)
		t.nodes = append(t.nodes, level...)
		var up []rtreeNode
		for i := 0; i < len(level); i += rtreeFanout {
			j := min(i+rtreeFanout, len(level))
			b := level[i].b
			for _, n := range level[i+1 : j] {
				b = b.Union(n.b)
			}
			up = append(up, rtreeNode{b: b, start: int32(base + i), end: int32(base + j)})
		}
		level = up
	}
	t.root = len(t.nodes)
	t.nodes = append(t.nodes, level[0])
	return t
}

// strSort orders s for STR packing: vertical slices by centre x, each slice
// by centre y.
func strSort[T any](s []T, bound func(T) orb.Bound) {
	cx := func(t T) float64 { b := bound(t); return b.Min[0] + b.Max[0] }
	cy := func(t T) float64 { b := bound(t); return b.Min[1] + b.Max[1] }
	slices.SortFunc(s, func(a, b T) int { return cmpFloat(cx(a), cx(b)) })
	leaves := (len(s) + rtreeFanout - 1) / rtreeFanout
	slice := int(math.Ceil(math.Sqrt(float64(leaves)))) * rtreeFanout
	for i := 0; i < len(s); i += slice {
		part := s[i:min(i+slice, len(s))]
		slices.SortFunc(part, func(a, b T) int { return cmpFloat(cy(a), cy(b)) })
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func boundsIntersect(a, b orb.Bound) bool {
	return a.Min[0] <= b.Max[0] && b.Min[0] <= a.Max[0] && a.Min[1] <= b.Max[1] && b.Min[1] <= a.Max[1]
}

// search calls fn with the id of every item whose bound intersects q, until
// fn returns false.
func (t *rtree) search(q orb.Bound, fn func(id int32) bool) {
	if t.root < 0 {
		return
	}
	var stackBuf [64]int32
	stack := append(stackBuf[:0], int32(t.root))
	for len(stack) > 0 {
		n := &t.nodes[stack[len(stack)-1]]
		stack = stack[:len(stack)-1]
		if !boundsIntersect(n.b, q) {
			continue
		}
		if n.leaf {
			for i := n.start; i < n.end; i++ {
				if boundsIntersect(t.items[i].b, q) && !fn(t.items[i].id) {
					return
				}
			}
			continue
		}
		for i := n.start; i < n.end; i++ {
			if boundsIntersect(t.nodes[i].b, q) {
				stack = append(stack, i)
			}
		}
	}
}
