package audit

import (
	"context"
	"errors"
	"fmt"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
)

// errOutOfOrder is a cluster-wide list whose items are not in the API
// server's key order (namespace, then name), which Stream relies on.
var errOutOfOrder = errors.New("listed out of key order")

// streamPages is how many pages each kind's list reads ahead of the
// namespace being assembled, so that listing runs while the previous
// namespaces are evaluated.
const streamPages = 1

// Stream reads what List reads, one namespace at a time: it calls fn with
// the Snapshot of each namespace (its labels and its objects, as List
// returns them for that namespace) as soon as it is complete, and drops it
// when fn returns. Peak memory is that of a few namespaces, not of the
// cluster.
//
// Without opts.Namespace it lists each kind cluster-wide in pages,
// every kind at once, and merges the lists: kube-apiserver returns a
// cluster-wide list in the order of its storage keys (namespace, then
// name), so a namespace is complete once every list has passed it. Each
// page is checked against that order before any of its items is used; a
// list out of order (or whose continue token expired) ends the merge, and
// the namespaces not yet handed to fn are then listed one by one. A
// namespace handed to fn is therefore always complete, and fn sees each
// namespace once, in the order of their names. (Storage keys put
// "team-a/web" before "team/web", since '-' sorts before '/': a namespace
// whose name is such a prefix of the next one's is listed on its own and
// handed over first.)
func Stream(ctx context.Context, client dynamic.Interface, opts ListOptions, fn func(*Snapshot) error) error {
	if opts.PageSize <= 0 {
		opts.PageSize = DefaultPageSize
	}
	if opts.Namespace != "" {
		snap, err := List(ctx, client, opts)
		if err != nil {
			return err
		}
		return fn(snap)
	}
	labels := map[string]map[string]string{}
	if err := eachItem(ctx, client.Resource(namespaces), opts.PageSize, func(obj map[string]any) {
		u := unstructured.Unstructured{Object: obj}
		labels[u.GetName()] = u.GetLabels()
	}); err != nil {
		return fmt.Errorf("listing namespaces: %w", err)
	}
	m := newMerge(ctx, client, opts.PageSize, labels)
	defer m.stop()
	done, err := m.run(fn)
	if err == nil || !errors.Is(err, errOutOfOrder) && !apierrors.IsResourceExpired(err) && !apierrors.IsGone(err) {
		return err
	}
	m.stop()
	// The lists cannot be merged: list the rest namespace by namespace.
	var rest []string
	for ns := range labels {
		if !done[ns] {
			rest = append(rest, ns)
		}
	}
	sort.Strings(rest)
	for _, ns := range rest {
		snap, err := List(ctx, client, ListOptions{Namespace: ns, PageSize: opts.PageSize})
		if err != nil {
			if errors.Is(err, ErrNamespaceNotFound) {
				continue // deleted meanwhile
			}
			return err
		}
		if err := fn(snap); err != nil {
			return err
		}
	}
	return nil
}

// storageLess orders namespaces as their objects' storage keys
// (".../namespace/name") are ordered.
func storageLess(a, b string) bool { return a+"/" < b+"/" }

// merge reads one cluster-wide list per kind and assembles namespaces.
type merge struct {
	client   dynamic.Interface
	pageSize int64
	ctx      context.Context
	cancel   context.CancelFunc
	labels   map[string]map[string]string
	lists    []*kindList
}

// kindList is one kind's cluster-wide list, read ahead in pages.
type kindList struct {
	kind  Kind
	pages chan page
	cur   []map[string]any
	err   error
	done  bool
}

type page struct {
	items []map[string]any
	err   error
}

func newMerge(ctx context.Context, client dynamic.Interface, pageSize int64, labels map[string]map[string]string) *merge {
	ctx, cancel := context.WithCancel(ctx)
	m := &merge{client: client, pageSize: pageSize, ctx: ctx, cancel: cancel, labels: labels}
	for _, k := range Kinds {
		l := &kindList{kind: k, pages: make(chan page, streamPages)}
		m.lists = append(m.lists, l)
		go l.read(ctx, client.Resource(k.Resource), pageSize)
	}
	return m
}

// stop ends the lists' requests.
func (m *merge) stop() { m.cancel() }

// read lists the kind page by page, checks each page's order and sends it.
func (l *kindList) read(ctx context.Context, r dynamic.ResourceInterface, pageSize int64) {
	defer close(l.pages)
	send := func(p page) bool {
		select {
		case l.pages <- p:
			return true
		case <-ctx.Done():
			return false
		}
	}
	last := ""
	opts := metav1.ListOptions{Limit: pageSize}
	for {
		list, err := r.List(ctx, opts)
		if err != nil {
			send(page{err: fmt.Errorf("listing %s: %w", l.kind.Resource.GroupResource(), err)})
			return
		}
		items := make([]map[string]any, 0, len(list.Items))
		for i := range list.Items {
			obj := list.Items[i].Object
			ns, name, _ := identity(obj)
			key := ns + "/" + name
			if key <= last {
				send(page{err: fmt.Errorf("listing %s: %s after %s: %w", l.kind.Resource.GroupResource(), key, last, errOutOfOrder)})
				return
			}
			last = key
			items = append(items, prepare(obj, l.kind))
		}
		list.Items = nil
		if len(items) > 0 && !send(page{items: items}) {
			return
		}
		if opts.Continue = list.GetContinue(); opts.Continue == "" {
			return
		}
	}
}

// head is the next item of the list, nil once the list is exhausted or
// failed (l.err).
func (l *kindList) head() map[string]any {
	for len(l.cur) == 0 && !l.done {
		p, ok := <-l.pages
		if !ok {
			l.done = true
			break
		}
		if p.err != nil {
			l.err, l.done = p.err, true
			break
		}
		l.cur = p.items
	}
	if len(l.cur) == 0 {
		return nil
	}
	return l.cur[0]
}

// run hands fn every namespace in storage order, each once every list has
// passed it, and returns the namespaces handed over. It stops at the first
// error of a list or of fn.
func (m *merge) run(fn func(*Snapshot) error) (map[string]bool, error) {
	done := map[string]bool{}
	pending := make([]string, 0, len(m.labels)) // listed namespaces, in storage order
	for ns := range m.labels {
		pending = append(pending, ns)
	}
	sort.Slice(pending, func(i, j int) bool { return storageLess(pending[i], pending[j]) })
	for {
		// The next namespace: the least of the lists' heads and of the
		// listed namespaces not handed over yet (which may have no objects).
		next, found := "", false
		if len(pending) > 0 {
			next, found = pending[0], true
		}
		for _, l := range m.lists {
			h := l.head()
			if l.err != nil {
				return done, l.err
			}
			if h == nil {
				continue
			}
			ns, _, _ := identity(h)
			if !found || storageLess(ns, next) {
				next, found = ns, true
			}
		}
		if !found {
			return done, m.ctx.Err()
		}
		// A listed namespace whose name is a prefix of next's up to a '-'
		// comes before it by name but after it in storage order: list it
		// on its own now. Its items in the lists are dropped below.
		for i := range len(next) {
			y := next[:i]
			if _, listed := m.labels[y]; next[i] != '-' || done[y] || !listed {
				continue
			}
			snap, err := List(m.ctx, m.client, ListOptions{Namespace: y, PageSize: m.pageSize})
			if errors.Is(err, ErrNamespaceNotFound) {
				continue
			}
			if err != nil {
				return done, err
			}
			if err := fn(snap); err != nil {
				return done, err
			}
			done[y] = true
		}
		snap := &Snapshot{Namespaces: map[string]map[string]string{}}
		if l, ok := m.labels[next]; ok {
			snap.Namespaces[next] = l
		}
		listed := map[string]bool{}
		for _, l := range m.lists {
			for {
				h := l.head()
				if l.err != nil {
					return done, l.err
				}
				if h == nil {
					break
				}
				if ns, _, _ := identity(h); ns != next {
					break
				}
				l.cur[0] = nil
				l.cur = l.cur[1:]
				snap.Objects = append(snap.Objects, listedObject(h, listed))
			}
		}
		for len(pending) > 0 && !storageLess(next, pending[0]) {
			pending = pending[1:]
		}
		if err := m.ctx.Err(); err != nil {
			return done, err
		}
		if done[next] { // listed on its own before
			continue
		}
		if err := fn(snap); err != nil {
			return done, err
		}
		done[next] = true
	}
}
