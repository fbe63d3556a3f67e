package orders

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver
)

type dialect int

const (
	dialectSQLite dialect = iota
	dialectPostgres
)

func (d dialect) String() string {
	if d == dialectPostgres {
		return "postgresql"
	}
	return "sqlite"
}

// SQLStore is the Store on database/sql, for SQLite (modernc.org/sqlite, WAL
// mode) and PostgreSQL (pgx). Queries are written with ? placeholders and
// rebound for PostgreSQL.
type SQLStore struct {
	db      *sql.DB
	dialect dialect
}

var _ Store = (*SQLStore)(nil)

func openSQLite(ctx context.Context, path string) (*SQLStore, error) {
	if path == "" {
		return nil, errors.New("database url: empty sqlite path")
	}
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_txlock=immediate"
	if path != ":memory:" {
		// WAL lets readers run beside the single writer; synchronous=NORMAL
		// in WAL mode keeps every commit across a process crash (kill -9).
		dsn += "&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	if path == ":memory:" {
		// Every connection to :memory: is a separate database.
		db.SetMaxOpenConns(1)
	} else {
		db.SetMaxOpenConns(4)
	}
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := &SQLStore{db: db, dialect: dialectSQLite}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func openPostgres(ctx context.Context, url string) (*SQLStore, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("open postgres %s: %w", redactURL(url), err)
	}
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := &SQLStore{db: db, dialect: dialectPostgres}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Dialect names the database behind the store ("sqlite" or "postgresql").
func (s *SQLStore) Dialect() string { return s.dialect.String() }

// q rebinds ? placeholders to $n for PostgreSQL.
func (s *SQLStore) q(query string) string {
	if s.dialect != dialectPostgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Ping implements Store.
func (s *SQLStore) Ping(ctx context.Context) error {
	var one int
	if err := s.db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping %s: %w", s.dialect, err)
	}
	return nil
}

// Close implements Store.
func (s *SQLStore) Close() error { return s.db.Close() }

const orderColumns = "seq, id, customer_id, items, notes, status, total_cents, created_at, cancelled_at, internal_admin_notes"

// CreateOrder implements Store.
func (s *SQLStore) CreateOrder(ctx context.Context, o *Order, idem *Idempotency) (CreateResult, error) {
	items, err := json.Marshal(o.Items)
	if err != nil {
		return CreateResult{}, fmt.Errorf("encode items: %w", err)
	}
	// Under PostgreSQL's read committed, two requests with one new key can
	// both miss the lookup; the key's primary key stops the second, which
	// then retries and finds the first one's record.
	for attempt := 0; ; attempt++ {
		res, err := s.createOnce(ctx, o, items, idem)
		if err != nil && idem != nil && attempt < 3 && isUniqueViolation(err) {
			continue
		}
		return res, err
	}
}

func (s *SQLStore) createOnce(ctx context.Context, o *Order, items []byte, idem *Idempotency) (res CreateResult, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return res, fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if idem != nil {
		if _, err = tx.ExecContext(ctx, s.q("DELETE FROM idempotency_keys WHERE expires_at <= ?"), idem.Now.UnixMicro()); err != nil {
			return res, fmt.Errorf("expire idempotency keys: %w", err)
		}
		var hash, orderID, response string
		err = tx.QueryRowContext(ctx, s.q("SELECT request_hash, order_id, response FROM idempotency_keys WHERE key = ?"), idem.Key).Scan(&hash, &orderID, &response)
		switch {
		case err == nil:
			_ = tx.Rollback()
			if hash != idem.RequestHash {
				return CreateResult{}, ErrIdempotencyMismatch
			}
			return CreateResult{OrderID: orderID, Replayed: true, Response: []byte(response)}, nil
		case !errors.Is(err, sql.ErrNoRows):
			return res, fmt.Errorf("look up idempotency key: %w", err)
		}
	}
	var cancelled sql.NullInt64
	if o.CancelledAt != nil {
		cancelled = sql.NullInt64{Int64: o.CancelledAt.UnixMicro(), Valid: true}
	}
	err = tx.QueryRowContext(ctx, s.q(`INSERT INTO orders (id, customer_id, items, notes, status, total_cents, created_at, cancelled_at, internal_admin_notes)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`),
		o.ID, o.CustomerID, string(items), o.Notes, string(o.Status), o.TotalCents, o.CreatedAt.UnixMicro(), cancelled, o.InternalAdminNotes).Scan(&o.Seq)
	if err != nil {
		return res, fmt.Errorf("insert order: %w", err)
	}
	if idem != nil {
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO idempotency_keys (key, request_hash, order_id, response, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`),
			idem.Key, idem.RequestHash, o.ID, string(idem.Response), idem.Now.UnixMicro(), idem.ExpiresAt.UnixMicro())
		if err != nil {
			return res, fmt.Errorf("insert idempotency key: %w", err)
		}
	}
	if err = tx.Commit(); err != nil {
		return res, fmt.Errorf("commit: %w", err)
	}
	return CreateResult{OrderID: o.ID}, nil
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	return strings.Contains(err.Error(), "UNIQUE constraint failed")
}

type rowScanner interface{ Scan(dest ...any) error }

func scanOrder(row rowScanner) (*Order, error) {
	var (
		o         Order
		items     string
		status    string
		created   int64
		cancelled sql.NullInt64
	)
	if err := row.Scan(&o.Seq, &o.ID, &o.CustomerID, &items, &o.Notes, &status, &o.TotalCents, &created, &cancelled, &o.InternalAdminNotes); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(items), &o.Items); err != nil {
		return nil, fmt.Errorf("decode items of order %s: %w", o.ID, err)
	}
	o.Status = Status(status)
	o.CreatedAt = time.UnixMicro(created).UTC()
	if cancelled.Valid {
		t := time.UnixMicro(cancelled.Int64).UTC()
		o.CancelledAt = &t
	}
	return &o, nil
}

// GetOrder implements Store.
func (s *SQLStore) GetOrder(ctx context.Context, id string) (*Order, error) {
	o, err := scanOrder(s.db.QueryRowContext(ctx, s.q("SELECT "+orderColumns+" FROM orders WHERE id = ?"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get order: %w", err)
	}
	return o, nil
}

// ListOrders implements Store.
func (s *SQLStore) ListOrders(ctx context.Context, q ListQuery) (Page, error) {
	if q.Limit <= 0 {
		return Page{}, fmt.Errorf("list orders: limit %d must be positive", q.Limit)
	}
	query := "SELECT " + orderColumns + " FROM orders WHERE seq > ?"
	args := []any{q.After}
	if q.CustomerID != "" {
		query += " AND customer_id = ?"
		args = append(args, q.CustomerID)
	}
	// One row more than asked tells whether another page exists.
	query += " ORDER BY seq LIMIT ?"
	args = append(args, q.Limit+1)
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return Page{}, fmt.Errorf("list orders: %w", err)
	}
	defer rows.Close()
	var page Page
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return Page{}, fmt.Errorf("list orders: %w", err)
		}
		page.Orders = append(page.Orders, o)
	}
	if err := rows.Err(); err != nil {
		return Page{}, fmt.Errorf("list orders: %w", err)
	}
	if len(page.Orders) > q.Limit {
		page.Orders = page.Orders[:q.Limit]
		page.Next = page.Orders[q.Limit-1].Seq
	}
	return page, nil
}

// CancelOrder implements Store.
func (s *SQLStore) CancelOrder(ctx context.Context, id string, at time.Time) (o *Order, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	res, err := tx.ExecContext(ctx, s.q("UPDATE orders SET status = ?, cancelled_at = ? WHERE id = ? AND status = ?"),
		string(StatusCancelled), at.UnixMicro(), id, string(StatusPending))
	if err != nil {
		return nil, fmt.Errorf("cancel order: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return nil, fmt.Errorf("cancel order: %w", err)
	}
	o, err = scanOrder(tx.QueryRowContext(ctx, s.q("SELECT "+orderColumns+" FROM orders WHERE id = ?"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("cancel order: %w", err)
	}
	if n == 0 {
		return o, ErrConflict
	}
	if err = tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	return o, nil
}
