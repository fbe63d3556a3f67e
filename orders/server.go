package orders

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Options are what a Server is built from. Logger, Registerer and Gatherer
// come from main.
type Options struct {
	Logger         *slog.Logger
	Registerer     prometheus.Registerer // the metrics, served by AdminHandler apart from the API
	TracerProvider trace.TracerProvider
	RequestTimeout time.Duration
	IdempotencyTTL time.Duration
	Lifecycle      *Lifecycle
	Now            func() time.Time // for tests; time.Now by default
}

// Server is the orders HTTP API over a Store. It hides net/http and
// gorilla/mux from the domain.
type Server struct {
	store              Store
	cfg                Options
	logger             *slog.Logger
	tracer             trace.Tracer
	metrics            *metrics
	lifecycle          *Lifecycle
	now                func() time.Time
	orderRequestSchema *openapi3.Schema
	handler            http.Handler
}

var _ http.Handler = (*Server)(nil)

// NewServer builds the API over store.
func NewServer(store Store, opts Options) (*Server, error) {
	if store == nil {
		return nil, errors.New("orders: nil store")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registerer == nil {
		opts.Registerer = prometheus.NewRegistry()
	}
	if opts.TracerProvider == nil {
		opts.TracerProvider = noop.NewTracerProvider()
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 60 * time.Second
	}
	if opts.IdempotencyTTL <= 0 {
		opts.IdempotencyTTL = 24 * time.Hour
	}
	if opts.Lifecycle == nil {
		opts.Lifecycle = &Lifecycle{}
		opts.Lifecycle.MarkStarted()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	doc, err := loadGeneratedOpenAPI()
	if err != nil {
		return nil, err
	}
	reqSchema := doc.Components.Schemas["OrderRequest"]
	if reqSchema == nil || reqSchema.Value == nil {
		return nil, errors.New("OpenAPI document has no OrderRequest schema")
	}
	s := &Server{
		store:              store,
		cfg:                opts,
		logger:             withTraceIDs(opts.Logger),
		tracer:             opts.TracerProvider.Tracer(instrumentationName),
		metrics:            m,
		lifecycle:          opts.Lifecycle,
		now:                opts.Now,
		orderRequestSchema: reqSchema.Value,
	}
	router := mux.NewRouter()
	router.Use(nameRoute)
	if err := s.registerRoutes(router); err != nil {
		return nil, err
	}
	router.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, http.StatusNotFound, "not-found", "Not found", "no route matches this path", nil)
	})
	router.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allowedMethods(r.URL.Path))
		writeProblem(w, r, http.StatusMethodNotAllowed, "method-not-allowed", "Method not allowed", "this route does not accept "+r.Method, nil)
	})
	s.handler = s.instrument(s.recoverPanics(limitDuration(opts.RequestTimeout, router)))
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// registerRoutes registers exactly the operations of the OpenAPI table, so
// the document and the router cannot disagree.
func (s *Server) registerRoutes(r *mux.Router) error {
	handlers := s.orderHandlers()
	handlers["getLiveness"] = livenessHandler().ServeHTTP
	handlers["getReadiness"] = readinessHandler(s.lifecycle, s.store.Ping).ServeHTTP
	handlers["getOpenAPI"] = func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, committedOpenAPI) }
	for _, op := range operations() {
		h, ok := handlers[op.ID]
		if !ok {
			return fmt.Errorf("operation %s has no handler", op.ID)
		}
		delete(handlers, op.ID)
		r.Handle(op.Path, h).Methods(op.Method).Name(op.ID)
	}
	for id := range handlers {
		return fmt.Errorf("handler %s has no operation in the OpenAPI table", id)
	}
	return nil
}

// allowedMethods lists the methods of the routes whose template matches path.
func allowedMethods(path string) string {
	var methods []string
	for _, op := range operations() {
		if routePattern(op.Path).MatchString(path) && !slices.Contains(methods, op.Method) {
			methods = append(methods, op.Method)
		}
	}
	slices.Sort(methods)
	out := ""
	for i, m := range methods {
		if i > 0 {
			out += ", "
		}
		out += m
	}
	return out
}

var pathVar = regexp.MustCompile(`\\\{[^}]+\\\}`)

func routePattern(tpl string) *regexp.Regexp {
	return regexp.MustCompile("^" + pathVar.ReplaceAllString(regexp.QuoteMeta(tpl), `[^/]+`) + "$")
}
