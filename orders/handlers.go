package orders

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"
)

// List page sizes.
const (
	defaultPageSize = 20
	maxPageSize     = 100
)

// orderHandlers maps operation ids to the handlers of the orders resource.
func (s *Server) orderHandlers() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"createOrder": s.createOrder,
		"listOrders":  s.listOrders,
		"getOrder":    s.getOrder,
		"cancelOrder": s.cancelOrder,
	}
}

func (s *Server) createOrder(w http.ResponseWriter, r *http.Request) {
	if err := requireJSON(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	key, hasKey, err := idempotencyKey(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req OrderRequest
	if err := DecodeStrict(body, s.orderRequestSchema, &req); err != nil {
		s.writeError(w, r, err)
		return
	}

	now := s.now().UTC().Truncate(time.Microsecond) // the stores keep microseconds
	o := &Order{
		ID:         uuid.Must(uuid.NewV7()).String(),
		CustomerID: req.CustomerID,
		Items:      make([]Item, len(req.Items)),
		Notes:      req.Notes,
		Status:     StatusPending,
		CreatedAt:  now,
		// Staff-only provenance: stored, never returned.
		InternalAdminNotes: "received from " + r.RemoteAddr,
	}
	for i, it := range req.Items {
		o.Items[i] = Item(it)
		// Bounded by the schema: at most 100 × 10⁴ × 10⁹, far below 2⁶³.
		o.TotalCents += it.Quantity * it.UnitPriceCents
	}
	resp, err := json.Marshal(toResponse(o))
	if err != nil {
		s.writeError(w, r, fmt.Errorf("encode order: %w", err))
		return
	}
	resp = append(resp, '\n')

	var idem *Idempotency
	if hasKey {
		canonical, _ := json.Marshal(req)
		sum := sha256.Sum256(canonical)
		idem = &Idempotency{Key: key, RequestHash: hex.EncodeToString(sum[:]), Response: resp, Now: now, ExpiresAt: now.Add(s.cfg.IdempotencyTTL)}
	}
	res, err := s.store.CreateOrder(r.Context(), o, idem)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/orders/"+res.OrderID)
	if res.Replayed {
		s.metrics.replays.Inc()
		w.Header().Set("Idempotent-Replayed", "true")
		writeJSON(w, http.StatusCreated, res.Response)
		return
	}
	s.metrics.created.Inc()
	writeJSON(w, http.StatusCreated, resp)
}

// idempotencyKey reads the optional Idempotency-Key header.
func idempotencyKey(r *http.Request) (string, bool, error) {
	values := r.Header.Values("Idempotency-Key")
	if len(values) == 0 {
		return "", false, nil
	}
	if len(values) > 1 {
		return "", false, invalid("header.Idempotency-Key", "invalid_value", "send the Idempotency-Key header once")
	}
	k := values[0]
	if len(k) == 0 || len(k) > 255 {
		return "", false, invalid("header.Idempotency-Key", "invalid_value", "the key must be 1 to 255 characters long")
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return "", false, invalid("header.Idempotency-Key", "invalid_value", "the key may contain only visible ASCII characters")
		}
	}
	return k, true, nil
}

func (s *Server) getOrder(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["id"]
	if len(id) > 64 {
		s.writeError(w, r, ErrNotFound)
		return
	}
	o, err := s.store.GetOrder(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	encodeJSON(w, http.StatusOK, toResponse(o))
}

func (s *Server) cancelOrder(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["id"]
	if len(id) > 64 {
		s.writeError(w, r, ErrNotFound)
		return
	}
	o, err := s.store.CancelOrder(r.Context(), id, s.now().UTC())
	if errors.Is(err, ErrConflict) && o != nil {
		err = fmt.Errorf("%w: the order is %s; only pending orders can be cancelled", ErrConflict, o.Status)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.metrics.cancelled.Inc()
	encodeJSON(w, http.StatusOK, toResponse(o))
}

func (s *Server) listOrders(w http.ResponseWriter, r *http.Request) {
	q, err := parseListQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page, err := s.store.ListOrders(r.Context(), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list := OrderList{Orders: make([]OrderResponse, len(page.Orders))}
	for i, o := range page.Orders {
		list.Orders[i] = toResponse(o)
	}
	if page.Next != 0 {
		list.NextCursor = encodeCursor(page.Next)
	}
	encodeJSON(w, http.StatusOK, list)
}

func parseListQuery(r *http.Request) (ListQuery, error) {
	values := r.URL.Query()
	q := ListQuery{Limit: defaultPageSize}
	verr := &ValidationError{}
	if vs, ok := values["customer_id"]; ok {
		switch c := vs[0]; {
		case c == "":
			verr.Errors = append(verr.Errors, ProblemError{Location: "query.customer_id", Type: "too_short", Message: "customer_id must not be empty"})
		case len(c) > 100:
			verr.Errors = append(verr.Errors, ProblemError{Location: "query.customer_id", Type: "too_long", Message: "customer_id must be at most 100 characters"})
		default:
			q.CustomerID = c
		}
	}
	if v := values.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil:
			verr.Errors = append(verr.Errors, ProblemError{Location: "query.limit", Type: "invalid_type", Message: "limit must be an integer"})
		case n < 1 || n > maxPageSize:
			verr.Errors = append(verr.Errors, ProblemError{Location: "query.limit", Type: "out_of_range", Message: fmt.Sprintf("limit must be between 1 and %d", maxPageSize)})
		default:
			q.Limit = n
		}
	}
	if v := values.Get("cursor"); v != "" {
		after, ok := decodeCursor(v)
		if !ok {
			verr.Errors = append(verr.Errors, ProblemError{Location: "query.cursor", Type: "invalid_value", Message: "cursor is not one this API returned"})
		}
		q.After = after
	}
	if len(verr.Errors) > 0 {
		return ListQuery{}, verr
	}
	return q, nil
}

// Cursors are opaque to clients; inside they name the position to continue
// after, so pages stay stable while orders are added.
const cursorPrefix = "v1:"

func encodeCursor(after int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.FormatInt(after, 10)))
}

func decodeCursor(c string) (int64, bool) {
	if len(c) > 64 {
		return 0, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, false
	}
	rest, ok := strings.CutPrefix(string(raw), cursorPrefix)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}
