// Package app is the one place that wires configuration, storage, services
// and the two HTTP servers together. Nothing else constructs dependencies;
// every other package receives what it needs through its constructor.
package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/trace"

	"github.com/hoplite-id/hoplite/internal/audit"
	"github.com/hoplite-id/hoplite/internal/cipher"
	"github.com/hoplite-id/hoplite/internal/config"
	"github.com/hoplite-id/hoplite/internal/courier"
	"github.com/hoplite-id/hoplite/internal/csrf"
	"github.com/hoplite-id/hoplite/internal/exactcache"
	"github.com/hoplite-id/hoplite/internal/flow"
	"github.com/hoplite-id/hoplite/internal/hash"
	"github.com/hoplite-id/hoplite/internal/hook"
	"github.com/hoplite-id/hoplite/internal/httpclient"
	"github.com/hoplite-id/hoplite/internal/httpx"
	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/method/link"
	"github.com/hoplite-id/hoplite/internal/method/oidc"
	"github.com/hoplite-id/hoplite/internal/method/password"
	"github.com/hoplite-id/hoplite/internal/method/profile"
	"github.com/hoplite-id/hoplite/internal/metrics"
	"github.com/hoplite-id/hoplite/internal/passwordpolicy"
	"github.com/hoplite-id/hoplite/internal/schema"
	"github.com/hoplite-id/hoplite/internal/selfui"
	"github.com/hoplite-id/hoplite/internal/server"
	"github.com/hoplite-id/hoplite/internal/session"
	"github.com/hoplite-id/hoplite/internal/store/sqlstore"
	"github.com/hoplite-id/hoplite/internal/throttle"
	"github.com/hoplite-id/hoplite/internal/tracing"
)

// App is a configured Hoplite instance.
type App struct {
	Config *config.Config
	Logger *slog.Logger
	Store  *sqlstore.Store

	Identities *identity.Service
	Sessions   *session.Manager
	Hasher     *hash.Limited
	hooks      *hook.Runner

	// Throttle counts failed sign-ins and mails per address (nil when
	// security.brute_force.enabled is false); Audit records security
	// events.
	Throttle *throttle.Limiter
	Audit    *audit.Recorder

	// Courier queues mail; MailSender delivers it (nil without
	// courier.smtp.connection_uri outside dev mode).
	Courier     *courier.Courier
	MailSender  courier.Sender
	stopCourier func()

	// SessionCache answers session checks from memory (nil when
	// session.cache.enabled is false); stopWatch ends its invalidation feed.
	SessionCache *session.Cache
	// IdentityViews holds rendered admin answers of identities (nil
	// with the session cache).
	IdentityViews *exactcache.Cache[uuid.UUID, []byte]
	stopWatch     func()
	// Metrics are this instance's collectors (served on the admin port).
	Metrics *metrics.Metrics
	tracing *tracing.Tracing

	public http.Handler
	admin  http.Handler
	// publicTLS and adminTLS are set when serve.*.tls is configured.
	publicTLS, adminTLS *tls.Config

	closeOnce sync.Once
}

// Options tune New.
type Options struct {
	// Migrate applies pending migrations at start (serve --dev, dsn memory).
	Migrate bool
	// Tracing replaces the tracing configured under tracing.* (tests
	// record spans in memory).
	Tracing *tracing.Tracing
}

// NewLogger builds the logger described by log.level and log.format.
func NewLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	switch strings.ToLower(cfg.Log.Level) {
	case "trace", "debug":
		level = slog.LevelDebug
	case "warn", "warning":
		level = slog.LevelWarn
	case "error", "fatal", "panic":
		level = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: level}
	if strings.EqualFold(cfg.Log.Format, "text") {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// New opens storage, checks or applies migrations, loads identity schemas
// and builds both HTTP handlers.
func New(ctx context.Context, cfg *config.Config, logger *slog.Logger, opts Options) (a *App, err error) {
	if logger == nil {
		logger = NewLogger(cfg, io.Discard)
	}
	for _, w := range cfg.Warnings() {
		logger.Warn(w)
	}
	for _, key := range cfg.Unsupported() {
		logger.Warn("configuration key is accepted but not supported by this version of Hoplite yet; it has no effect", "key", key)
	}

	if err := ensureSecrets(cfg, logger); err != nil {
		return nil, err
	}

	tr := opts.Tracing
	if tr == nil {
		if tr, err = tracing.FromConfig(ctx, cfg.Tracing); err != nil {
			return nil, fmt.Errorf("tracing: %w", err)
		}
	}
	var tracer trace.Tracer
	var wrapDB []sqlstore.ConnectorWrapper
	if tr.Enabled() {
		tracer = tr.Tracer()
		wrapDB = append(wrapDB, traceSQL(tr))
	}
	st, err := sqlstore.Open(ctx, cfg.DSN, wrapDB...)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = st.Close()
		}
	}()
	mx := metrics.New()
	watchStore(mx, st)
	if opts.Migrate || st.InMemory {
		applied, err := st.Migrate(ctx)
		if err != nil {
			return nil, fmt.Errorf("applying migrations: %w", err)
		}
		for _, m := range applied {
			logger.Info("applied migration", "version", m.Version, "name", m.Name)
		}
	} else {
		pending, err := st.PendingMigrations(ctx)
		if err != nil {
			return nil, fmt.Errorf("checking migrations: %w", err)
		}
		if pending > 0 {
			return nil, fmt.Errorf("the database has %d pending migration(s); apply them with `hoplite migrate sql -e --yes` (or start with --dev to migrate automatically)", pending)
		}
	}

	// Every outbound request (schemas, web hooks, the breach check, mail
	// templates) goes through one client: timeouts, bounded retries, and the
	// private-address refusal when clients.http.disallow_private_ip_ranges
	// is set.
	outbound := httpclient.New(httpclient.FromConfig(cfg))
	schemas, err := loadSchemas(ctx, cfg, outbound)
	if err != nil {
		return nil, err
	}
	for _, w := range schemas.Warnings() {
		logger.Warn(w)
	}

	baseHasher, err := newHasher(cfg)
	if err != nil {
		return nil, err
	}
	// At most one password hash per CPU at a time, and a bounded queue
	// (see hash.Limited).
	hasher := &observedHasher{Limited: hash.Limit(baseHasher, 0).WithMaxWaiting(cfg.Security.MaxWaitingHashes), metrics: mx, tracer: tracer}
	recorder := audit.NewRecorder(st, logger)
	limiter := newThrottle(cfg, st)

	publicURL, adminURL := cfg.PublicBaseURL(), cfg.AdminBaseURL()
	// Every kind of credentials counts toward the available assurance level,
	// whether its method is enabled or not (imported credentials count too).
	identities := identity.NewService(st, schemas, publicURL, CredentialKinds()...)
	identities.SetAuditor(recorder)

	// The session cache is kept exact by the store: its own writes drop
	// entries at once; other instances' writes arrive through the
	// invalidation log (stopped in Close).
	// The admin API's identity answers are cached the same way, fed by the
	// same invalidations.
	var sessionCache *session.Cache
	var identityViews *exactcache.Cache[uuid.UUID, []byte]
	stopWatch := func() {}
	if c := cfg.Session.Cache; c.Enabled {
		limits := exactcache.Limits{MaxEntries: c.MaxEntries, MaxBytes: int64(min(c.MaxBytes, 1<<62)), MaxAge: c.MaxAge}
		sessionCache = session.NewCache(limits)
		sessionCache.Observe("session", mx)
		identityViews = exactcache.New[uuid.UUID, []byte](limits)
		identityViews.Observe("identity", mx)
		sinks := exactcache.Sinks{sessionCache, identityViews}
		st.SetInvalidationSink(sinks)
		watchCtx, cancel := context.WithCancel(context.Background())
		watched := make(chan struct{})
		go func() {
			defer close(watched)
			st.WatchInvalidations(watchCtx, sinks, sqlstore.WatchOptions{PollInterval: c.PollInterval, Logger: logger})
		}()
		stopWatch = func() { cancel(); <-watched }
		defer func() {
			if err != nil {
				stopWatch()
			}
		}()
	}
	sessions := session.NewManager(st, cfg.SessionSecrets(), session.Config{
		Lifespan: cfg.Session.Lifespan, IdleTimeout: cfg.Session.IdleTimeout,
		Cookie: session.CookieConfig{
			Name: cfg.Session.Cookie.Name, Domain: cfg.SessionCookieDomain(), Path: cfg.SessionCookiePath(),
			SameSite: cfg.SessionCookieSameSite(), Secure: cfg.CookieSecure(), Persistent: cfg.Session.Cookie.Persistent,
		},
		WhoamiRequiredAAL: cfg.Session.Whoami.RequiredAAL,
		PublicURL:         publicURL.String(),
		// Session cookies Kratos wrote keep working after a move.
		KratosCookieSecrets: cfg.CookieSecrets(),
		Cache:               sessionCache,
	}, identities.Expose)
	sessions.SetAuditor(recorder)
	csrfManager := csrf.New(publicURL.String(), csrf.CookieSettings{
		Domain: cfg.Cookies.Domain, Path: cfg.Cookies.Path, SameSite: cfg.CSRFCookieSameSite(), Secure: cfg.CookieSecure(),
		Secrets: cfg.Secrets.Default,
	})

	mailer, mailSender, err := courier.FromConfig(ctx, cfg, st, logger)
	if err != nil {
		return nil, err
	}

	hooks := hook.FromConfig(cfg, outbound, logger)
	engineDeps := flow.Deps{
		Config: flow.FromConfig(cfg, cfg.Dev && os.Getenv("DEV_DISABLE_API_FLOW_ENFORCEMENT") == "true"),
		Store:  flow.StoreOver(st), Sessions: sessions, Identities: identities, CSRF: csrfManager, Logger: logger,
		Hooks: hooks,
		// Used only when security.credential_changes.notify is on.
		Notifier: hook.NewNotifier(mailer),
	}
	// The enabled methods, in the order their nodes appear in forms.
	if cfg.Selfservice.Methods.Profile.Enabled {
		engineDeps.Methods = append(engineDeps.Methods, profile.New(identities))
	}
	if pw := cfg.Selfservice.Methods.Password; pw.Enabled {
		policy := passwordpolicy.New(passwordpolicy.Config{
			MinLength:                 pw.Config.MinPasswordLength,
			IdentifierSimilarityCheck: pw.Config.IdentifierSimilarityCheckEnabled,
			HIBPEnabled:               pw.Config.HaveIBeenPwnedEnabled,
			HIBPHost:                  pw.Config.HaveIBeenPwnedHost,
			MaxBreaches:               pw.Config.MaxBreaches,
			IgnoreNetworkErrors:       pw.Config.IgnoreNetworkErrors,
			MaxBytes:                  maxPasswordBytes(cfg),
		}, outbound)
		engineDeps.Methods = append(engineDeps.Methods, password.New(st, identities, hasher, policy).Guard(limiter, recorder))
	}
	if ln := cfg.Selfservice.Methods.Link; ln.Enabled {
		base := publicURL
		if ln.Config.BaseURL != "" {
			if u, err := url.Parse(ln.Config.BaseURL); err == nil && u.Host != "" {
				base = u
			}
		}
		// Link tokens are keyed with the cookie secrets, as Kratos keys them.
		engineDeps.Methods = append(engineDeps.Methods, link.New(st, identities, mailer, cfg.CookieSecrets(), link.Config{BaseURL: base, Lifespan: ln.Config.Lifespan}).Guard(limiter, recorder))
	}
	mfa, err := secondFactorMethods(cfg, st, identities, publicURL, limiter)
	if err != nil {
		return nil, err
	}
	engineDeps.Methods = append(engineDeps.Methods, mfa...)
	// Secrets read back later (social sign-in tokens) are encrypted with
	// ciphers.algorithm and secrets.cipher.
	secretsCipher, err := cipher.New(cfg.Ciphers.Algorithm, cfg.Secrets.Cipher)
	if err != nil {
		return nil, err
	}
	if oc := cfg.Selfservice.Methods.OIDC; oc.Enabled {
		base := publicURL
		if oc.Config.BaseRedirectURI != "" {
			if u, err := url.Parse(oc.Config.BaseRedirectURI); err == nil && u.Host != "" {
				base = u
			}
		}
		m, err := oidc.New(st, identities, secretsCipher, outbound, oidc.Config{
			Providers: oc.Config.Providers, RedirectBase: base,
			CookieSecrets: cfg.CookieSecrets(), CookieSecure: cfg.CookieSecure(),
		})
		if err != nil {
			return nil, err
		}
		engineDeps.Methods = append(engineDeps.Methods, m)
	}
	engine := flow.NewEngine(engineDeps)

	var builtinUI *selfui.Handler
	if cfg.UIEnabled() {
		var outbox selfui.Outbox
		if ls, ok := mailSender.(courier.LogSender); ok {
			// Development without a mail server: mails stay readable on the
			// built-in dev mail page as well as in the log.
			box := courier.NewOutbox(ls, 200)
			mailSender, outbox = box, box
		}
		f := cfg.Selfservice.Flows
		builtinUI, err = selfui.New(selfui.Config{
			BasePath: cfg.UI.BasePath, PublicURL: publicURL, Stylesheet: cfg.UI.Stylesheet,
			Registration: f.Registration.Enabled, Recovery: f.Recovery.Enabled, Verification: f.Verification.Enabled,
		}, engine, sessions, csrfManager, outbox, logger)
		if err != nil {
			return nil, err
		}
	}

	deps := server.Deps{
		Logger:        logger,
		Version:       Version,
		PublicURL:     publicURL,
		AdminURL:      adminURL,
		PublicMaxBody: cfg.Serve.Public.MaxBodyBytes,
		AdminMaxBody:  cfg.Serve.Admin.MaxBodyBytes,
		PublicCORS:    cfg.Serve.Public.CORS,
		RequestLog:    server.RequestLogSettings(cfg),
		DB:            st,
		Schemas:       schema.NewHandler(schemas, publicURL),
		Identities:    identity.NewAdminHandler(identities, hasher, adminURL).WithOIDCReveal(oidc.Reveal(secretsCipher)).WithCache(identityViews),
		Sessions:      session.NewHandler(sessions),
		Flows:         engine,
		Metrics:       mx,
		Tracer:        tracer,
		UI:            builtinUI,

		Audit:       recorder,
		AuditEvents: audit.NewHandler(st, adminURL),
	}
	if len(cfg.Serve.Admin.APIKeyHashes) > 0 {
		deps.AdminAPIKeyValid = cfg.AdminAPIKeyValid
	}

	publicTLS, adminTLS, err := listenerTLS(cfg, logger)
	if err != nil {
		return nil, err
	}

	return &App{
		publicTLS: publicTLS, adminTLS: adminTLS,
		Config: cfg, Logger: logger, Store: st,
		Identities: identities, Sessions: sessions, Hasher: hasher.Limited, hooks: hooks,
		Throttle: limiter, Audit: recorder,
		Courier: mailer, MailSender: mailSender,
		SessionCache: sessionCache, IdentityViews: identityViews, stopWatch: stopWatch,
		Metrics: mx, tracing: tr,
		public: server.Public(deps), admin: server.Admin(deps),
	}, nil
}

// newThrottle builds the brute-force limiter from security.brute_force
// (nil when it is disabled).
func newThrottle(cfg *config.Config, st throttle.Store) *throttle.Limiter {
	bf := cfg.Security.BruteForce
	if !bf.Enabled {
		return nil
	}
	policies := map[throttle.Kind]throttle.Policy{
		throttle.KindAccount: {
			Max: bf.MaxFailuresPerAccount, Window: bf.Window, Lockout: bf.Lockout,
			Free: bf.FreeFailures, BaseDelay: bf.BaseDelay, MaxDelay: bf.MaxDelay,
		},
		throttle.KindIP: {Max: bf.MaxFailuresPerIP, Window: bf.Window, Lockout: bf.Lockout},
	}
	if bf.MailCooldown > 0 {
		policies[throttle.KindMail] = throttle.Policy{Max: 1, Window: bf.MailCooldown, Lockout: bf.MailCooldown}
	}
	return throttle.New(st, policies)
}

// Prune deletes expired throttle counters and the security events older
// than security.audit.retention. Serve runs it every pruneInterval.
func (a *App) Prune(ctx context.Context) error {
	_, terr := a.Throttle.Prune(ctx)
	_, aerr := a.Audit.Prune(ctx, a.Config.Security.Audit.Retention)
	return errors.Join(terr, aerr)
}

const pruneInterval = time.Hour

func (a *App) pruneEvery(ctx context.Context, d time.Duration) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		if err := a.Prune(ctx); err != nil && ctx.Err() == nil {
			a.Logger.Warn("pruning throttle counters and security events failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// maxPasswordBytes is the password length the hasher can take (bcrypt reads
// only 72 bytes), or 0 for no limit.
func maxPasswordBytes(cfg *config.Config) int {
	if cfg.Hashers.Algorithm == "argon2" {
		return 0
	}
	return 72
}

func newHasher(cfg *config.Config) (hash.Hasher, error) {
	switch cfg.Hashers.Algorithm {
	case "argon2":
		a := cfg.Hashers.Argon2
		c := hash.Argon2Config{
			Memory: uint32(a.Memory / 1024), Iterations: a.Iterations, Parallelism: a.Parallelism,
			SaltLength: a.SaltLength, KeyLength: a.KeyLength,
		}
		if err := c.Validate(); err != nil {
			return nil, fmt.Errorf("hashers.argon2: %w", err)
		}
		return hash.NewArgon2(c), nil
	default:
		c := hash.BcryptConfig{Cost: cfg.Hashers.Bcrypt.Cost}
		if err := c.Validate(); err != nil {
			return nil, fmt.Errorf("hashers.bcrypt: %w", err)
		}
		return hash.NewBcrypt(c), nil
	}
}

// PublicHandler serves the public port.
func (a *App) PublicHandler() http.Handler { return a.public }

// AdminHandler serves the admin port.
func (a *App) AdminHandler() http.Handler { return a.admin }

// Serve serves both ports on the given listeners until ctx ends, then shuts
// down gracefully: listeners close, in-flight requests get up to
// shutdownGrace to finish, and the database is closed.
func (a *App) Serve(ctx context.Context, publicLn, adminLn net.Listener) error {
	newServer := func(h http.Handler) *http.Server {
		return &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       60 * time.Second,
			WriteTimeout:      60 * time.Second,
			IdleTimeout:       120 * time.Second,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(a.Logger.Handler(), slog.LevelWarn),
			// Every request's context carries the logger from the start, so
			// no middleware has to copy the request to add it.
			BaseContext: func(net.Listener) context.Context { return httpx.WithLogger(context.Background(), a.Logger) },
		}
	}
	pruneCtx, stopPruning := context.WithCancel(ctx)
	defer stopPruning()
	go a.pruneEvery(pruneCtx, pruneInterval)
	servers := []*http.Server{newServer(a.public), newServer(a.admin)}
	if a.publicTLS != nil {
		publicLn = tls.NewListener(publicLn, a.publicTLS)
	}
	if a.adminTLS != nil {
		adminLn = tls.NewListener(adminLn, a.adminTLS)
	}
	listeners := []net.Listener{publicLn, adminLn}
	errs := make(chan error, len(servers))
	for k, srv := range servers {
		go func(srv *http.Server, ln net.Listener) {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errs <- err
				return
			}
			errs <- nil
		}(srv, listeners[k])
	}
	if adminExposed(adminLn.Addr(), len(a.Config.Serve.Admin.APIKeyHashes) > 0) {
		a.Logger.Warn(adminExposedWarning, "admin", adminLn.Addr().String())
	}
	dbKind, dbWhere := sqlstore.DescribeDSN(a.Config.DSN)
	a.Logger.Info("serving", "version", Version, "database", string(dbKind), "database_at", dbWhere,
		"public", publicLn.Addr().String(), "public_base_url", a.Config.PublicBaseURL().String(),
		"admin", adminLn.Addr().String(), "admin_base_url", a.Config.AdminBaseURL().String())

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errs:
	}
	stopPruning()
	a.Logger.Info("shutting down: waiting for in-flight requests")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	// Both ports drain at once: Shutdown also waits (up to five seconds) for
	// connections that were opened but never sent a request, and one port's
	// wait need not add to the other's.
	var drained sync.WaitGroup
	for _, srv := range servers {
		drained.Go(func() {
			if err := srv.Shutdown(shutdownCtx); err != nil {
				a.Logger.Warn("shutdown did not finish in time", "error", err)
			}
		})
	}
	drained.Wait()
	if err := a.hooks.Wait(shutdownCtx); err != nil {
		a.Logger.Warn("background web hooks did not finish in time", "error", err)
	}
	return errors.Join(serveErr, a.Close())
}

const shutdownGrace = 20 * time.Second

// WatchCourier runs the mail worker in the background (serve
// --watch-courier); Close stops it.
func (a *App) WatchCourier(ctx context.Context) error {
	if a.MailSender == nil {
		return courier.ErrNoSender
	}
	a.stopCourier = a.Courier.Start(ctx, countingSender{Sender: a.MailSender, metrics: a.Metrics})
	return nil
}

// Close stops the mail worker (letting a delivery under way finish) and
// releases the database.
func (a *App) Close() error {
	var err error
	a.closeOnce.Do(func() {
		if a.stopCourier != nil {
			a.stopCourier()
		}
		if a.stopWatch != nil {
			a.stopWatch()
		}
		err = a.Store.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if terr := a.tracing.Shutdown(ctx); terr != nil {
			a.Logger.Warn("could not flush the last spans", "error", terr)
		}
	})
	return err
}
