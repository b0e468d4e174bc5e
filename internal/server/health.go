package server

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/hoplite-id/hoplite/internal/httpx"
)

// Database is what the readiness check asks of storage.
type Database interface {
	Ping(ctx context.Context) error
	PendingMigrations(ctx context.Context) (int, error)
}

// obfuscated replaces readiness details on the public port, as Kratos does.
const obfuscated = "error may contain sensitive information and was obfuscated"

type healthHandler struct {
	db      Database
	version string
}

func (h *healthHandler) alive(w http.ResponseWriter, r *http.Request) {
	httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// ready answers 200 when the database answers and no migration is pending;
// otherwise 503 listing what is wrong (details only when public is false).
func (h *healthHandler) ready(public bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		problems := map[string]string{}
		if err := h.db.Ping(ctx); err != nil {
			problems["database"] = err.Error()
		} else if n, err := h.db.PendingMigrations(ctx); err != nil {
			problems["migrations"] = err.Error()
		} else if n > 0 {
			problems["migrations"] = fmt.Sprintf("%d migration(s) are not applied yet; run hoplite migrate sql", n)
		}
		if len(problems) == 0 {
			httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
			return
		}
		if public {
			for k := range problems {
				problems[k] = obfuscated
			}
		}
		httpx.WriteJSON(w, http.StatusServiceUnavailable, map[string]any{"errors": problems})
	}
}

func (h *healthHandler) versionInfo(w http.ResponseWriter, r *http.Request) {
	httpx.WriteJSON(w, http.StatusOK, map[string]string{"version": h.version})
}
