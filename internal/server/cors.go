package server

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/rs/cors"

	"github.com/hoplite-id/hoplite/internal/config"
)

// publicCORS answers cross-origin requests on the public port as configured
// under serve.public.cors, so that single-page apps on another origin can
// call the API with the browser's cookies. Kratos wraps its whole public
// handler the same way and the admin port never answers CORS. When the
// feature is off, requests pass through untouched and no CORS header is
// ever written.
func publicCORS(c config.CORS, logger *slog.Logger) middleware {
	if !c.Enabled {
		return func(next http.Handler) http.Handler { return next }
	}
	opts := cors.Options{
		AllowedOrigins:     c.AllowedOrigins,
		AllowedMethods:     c.AllowedMethods,
		AllowedHeaders:     c.AllowedHeaders,
		ExposedHeaders:     c.ExposedHeaders,
		AllowCredentials:   c.AllowCredentials,
		OptionsPassthrough: c.OptionsPassthrough,
		MaxAge:             c.MaxAge,
		// Kratos' CORS library answered preflights with 200; keep that for
		// clients that check it.
		OptionsSuccessStatus: http.StatusOK,
		Debug:                c.Debug && logger != nil,
	}
	if opts.Debug {
		opts.Logger = corsLogger{logger}
	}
	return cors.New(opts).Handler
}

// corsLogger sends the CORS library's decisions to the server's log at
// debug level.
type corsLogger struct{ l *slog.Logger }

func (c corsLogger) Printf(format string, args ...any) {
	c.l.Debug("cors: " + fmt.Sprintf(format, args...))
}
