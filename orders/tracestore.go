package orders

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// tracedStore records a client span for every store call.
type tracedStore struct {
	next   Store
	tracer trace.Tracer
	system string
}

var _ Store = (*tracedStore)(nil)

// TraceStore wraps s so that each call records a span named store.<Method>.
func TraceStore(s Store, tp trace.TracerProvider, system string) Store {
	return &tracedStore{next: s, tracer: tp.Tracer(instrumentationName), system: system}
}

func (t *tracedStore) start(ctx context.Context, op string) (context.Context, trace.Span) {
	return t.tracer.Start(ctx, "store."+op, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("db.system.name", t.system), attribute.String("db.operation.name", op)))
}

// end records err unless it is an expected outcome (not found, conflict).
func end(span trace.Span, err error) {
	if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrConflict) && !errors.Is(err, ErrIdempotencyMismatch) {
		span.RecordError(err)
		span.SetStatus(codes.Error, "store call failed")
	}
	span.End()
}

func (t *tracedStore) CreateOrder(ctx context.Context, o *Order, idem *Idempotency) (CreateResult, error) {
	ctx, span := t.start(ctx, "CreateOrder")
	res, err := t.next.CreateOrder(ctx, o, idem)
	span.SetAttributes(attribute.Bool("orders.idempotent_replay", res.Replayed))
	end(span, err)
	return res, err
}

func (t *tracedStore) GetOrder(ctx context.Context, id string) (*Order, error) {
	ctx, span := t.start(ctx, "GetOrder")
	o, err := t.next.GetOrder(ctx, id)
	end(span, err)
	return o, err
}

func (t *tracedStore) ListOrders(ctx context.Context, q ListQuery) (Page, error) {
	ctx, span := t.start(ctx, "ListOrders")
	p, err := t.next.ListOrders(ctx, q)
	span.SetAttributes(attribute.Int("orders.page_size", len(p.Orders)))
	end(span, err)
	return p, err
}

func (t *tracedStore) CancelOrder(ctx context.Context, id string, at time.Time) (*Order, error) {
	ctx, span := t.start(ctx, "CancelOrder")
	o, err := t.next.CancelOrder(ctx, id, at)
	end(span, err)
	return o, err
}

func (t *tracedStore) Ping(ctx context.Context) error {
	ctx, span := t.start(ctx, "Ping")
	err := t.next.Ping(ctx)
	end(span, err)
	return err
}

func (t *tracedStore) Close() error { return t.next.Close() }
