package orders

import (
	"context"
	"fmt"
)

// migrations are applied in order, each once, at startup. Append only:
// never edit a migration that has shipped. Times are stored as Unix
// microseconds so that both databases hold them the same way.
var migrations = []struct {
	sqlite, postgres string
}{
	{
		sqlite: `CREATE TABLE orders (
			seq INTEGER PRIMARY KEY AUTOINCREMENT,
			id TEXT NOT NULL UNIQUE,
			customer_id TEXT NOT NULL,
			items TEXT NOT NULL,
			notes TEXT NOT NULL DEFAULT '',
			status TEXT NOT NULL,
			total_cents INTEGER NOT NULL,
			created_at INTEGER NOT NULL,
			cancelled_at INTEGER,
			internal_admin_notes TEXT NOT NULL DEFAULT ''
		);
		CREATE INDEX orders_customer_seq ON orders (customer_id, seq);
		CREATE TABLE idempotency_keys (
			key TEXT PRIMARY KEY,
			request_hash TEXT NOT NULL,
			order_id TEXT NOT NULL REFERENCES orders (id),
			response TEXT NOT NULL,
			created_at INTEGER NOT NULL,
			expires_at INTEGER NOT NULL
		);
		CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires_at);`,
		postgres: `CREATE TABLE orders (
			seq BIGSERIAL PRIMARY KEY,
			id TEXT NOT NULL UNIQUE,
			customer_id TEXT NOT NULL,
			items TEXT NOT NULL,
			notes TEXT NOT NULL DEFAULT '',
			status TEXT NOT NULL,
			total_cents BIGINT NOT NULL,
			created_at BIGINT NOT NULL,
			cancelled_at BIGINT,
			internal_admin_notes TEXT NOT NULL DEFAULT ''
		);
		CREATE INDEX orders_customer_seq ON orders (customer_id, seq);
		CREATE TABLE idempotency_keys (
			key TEXT PRIMARY KEY,
			request_hash TEXT NOT NULL,
			order_id TEXT NOT NULL REFERENCES orders (id),
			response TEXT NOT NULL,
			created_at BIGINT NOT NULL,
			expires_at BIGINT NOT NULL
		);
		CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires_at);`,
	},
}

// migrate brings the schema up to date in one transaction. On PostgreSQL an
// advisory lock serialises replicas that start at the same time.
func (s *SQLStore) migrate(ctx context.Context) (err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate %s: begin: %w", s.dialect, err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if s.dialect == dialectPostgres {
		if _, err = tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(7403561)"); err != nil {
			return fmt.Errorf("migrate: lock: %w", err)
		}
	}
	if _, err = tx.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)"); err != nil {
		return fmt.Errorf("migrate %s: %w", s.dialect, err)
	}
	var current int
	if err = tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&current); err != nil {
		return fmt.Errorf("migrate %s: read version: %w", s.dialect, err)
	}
	if current > len(migrations) {
		return fmt.Errorf("migrate %s: database schema version %d is newer than this binary's %d", s.dialect, current, len(migrations))
	}
	for v := current + 1; v <= len(migrations); v++ {
		stmt := migrations[v-1].sqlite
		if s.dialect == dialectPostgres {
			stmt = migrations[v-1].postgres
		}
		if _, err = tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("migrate %s to version %d: %w", s.dialect, v, err)
		}
		if _, err = tx.ExecContext(ctx, s.q("INSERT INTO schema_migrations (version) VALUES (?)"), v); err != nil {
			return fmt.Errorf("migrate %s: record version %d: %w", s.dialect, v, err)
		}
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("migrate %s: commit: %w", s.dialect, err)
	}
	return nil
}
