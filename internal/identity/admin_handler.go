package identity

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/exactcache"
	"github.com/hoplite-id/hoplite/internal/hash"
	"github.com/hoplite-id/hoplite/internal/httpx"
	"github.com/hoplite-id/hoplite/internal/schema"
)

// PasswordHasher hashes imported plain-text passwords.
type PasswordHasher interface {
	Generate(ctx context.Context, password []byte) ([]byte, error)
}

// AdminHandler serves the admin identity API.
type AdminHandler struct {
	svc      *Service
	hasher   PasswordHasher
	adminURL *url.URL
	// revealOIDC decrypts the provider tokens in an oidc credentials config
	// for include_credential=oidc (nil: shown as stored).
	revealOIDC func(json.RawMessage) json.RawMessage
	// views, when set, keeps rendered admin answers of identities by id,
	// kept exact by the storage layer's invalidations (see WithCache).
	views *exactcache.Cache[uuid.UUID, []byte]
}

// WithOIDCReveal sets how include_credential=oidc shows the stored provider
// tokens (the social sign-in method decrypts them).
func (h *AdminHandler) WithOIDCReveal(f func(json.RawMessage) json.RawMessage) *AdminHandler {
	h.revealOIDC = f
	return h
}

// WithCache makes Get answer from views: the rendered answers without
// include_credential. The cache must be fed the store's invalidations.
func (h *AdminHandler) WithCache(views *exactcache.Cache[uuid.UUID, []byte]) *AdminHandler {
	h.views = views
	return h
}

// NewAdminHandler wires the admin identity API.
func NewAdminHandler(svc *Service, hasher PasswordHasher, adminURL *url.URL) *AdminHandler {
	return &AdminHandler{svc: svc, hasher: hasher, adminURL: adminURL}
}

// createBody is the admin create document (adminCreateIdentityBody), with the
// metadata fields Kratos v0.10 added.
type createBody struct {
	SchemaID            string                      `json:"schema_id"`
	Traits              json.RawMessage             `json:"traits"`
	State               State                       `json:"state"`
	VerifiableAddresses []importedVerifiableAddress `json:"verifiable_addresses"`
	RecoveryAddresses   []importedRecoveryAddress   `json:"recovery_addresses"`
	Credentials         *importCredentials          `json:"credentials"`
	MetadataPublic      json.RawMessage             `json:"metadata_public"`
	MetadataAdmin       json.RawMessage             `json:"metadata_admin"`
}

// importedVerifiableAddress is a verifiable address in a create body. Its id
// and timestamps are ignored (imported addresses get new ones); the id is a
// plain string because the official SDK always sends one, usually "".
type importedVerifiableAddress struct {
	ID         *string    `json:"id"`
	Value      string     `json:"value"`
	Verified   bool       `json:"verified"`
	Via        string     `json:"via"`
	Status     string     `json:"status"`
	VerifiedAt *time.Time `json:"verified_at"`
	CreatedAt  *time.Time `json:"created_at"`
	UpdatedAt  *time.Time `json:"updated_at"`
}

// importedRecoveryAddress is a recovery address in a create body (see
// importedVerifiableAddress).
type importedRecoveryAddress struct {
	ID        *string    `json:"id"`
	Value     string     `json:"value"`
	Via       string     `json:"via"`
	CreatedAt *time.Time `json:"created_at"`
	UpdatedAt *time.Time `json:"updated_at"`
}

type importCredentials struct {
	Password *struct {
		Config struct {
			HashedPassword string `json:"hashed_password"`
			Password       string `json:"password"`
		} `json:"config"`
	} `json:"password"`
	OIDC *struct {
		Config struct {
			// The SDK's model declares a nested config here; it carries nothing.
			Config    json.RawMessage `json:"config"`
			Providers []struct {
				Provider string `json:"provider"`
				Subject  string `json:"subject"`
			} `json:"providers"`
		} `json:"config"`
	} `json:"oidc"`
}

// updateBody is adminUpdateIdentityBody plus v0.10's metadata.
type updateBody struct {
	SchemaID       string          `json:"schema_id"`
	Traits         json.RawMessage `json:"traits"`
	State          State           `json:"state"`
	MetadataPublic json.RawMessage `json:"metadata_public"`
	MetadataAdmin  json.RawMessage `json:"metadata_admin"`
}

// OIDCProviderCredential is one linked social sign-in account.
type OIDCProviderCredential struct {
	Subject             string `json:"subject"`
	Provider            string `json:"provider"`
	InitialIDToken      string `json:"initial_id_token"`
	InitialAccessToken  string `json:"initial_access_token"`
	InitialRefreshToken string `json:"initial_refresh_token"`
}

// OIDCConfig is the config of oidc credentials.
type OIDCConfig struct {
	Providers []OIDCProviderCredential `json:"providers"`
}

// PasswordConfig is the config of password credentials.
type PasswordConfig struct {
	HashedPassword string `json:"hashed_password,omitempty"`
}

// metadata normalises an optional metadata document: absent and null both
// mean "none"; anything else must be a JSON object.
func metadata(field string, raw json.RawMessage) (json.RawMessage, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, httpx.BadRequest(fmt.Sprintf("The field %s must be a JSON object.", field))
	}
	return raw, nil
}

// Create handles POST /admin/identities.
func (h *AdminHandler) Create(w http.ResponseWriter, r *http.Request) {
	var body createBody
	if err := httpx.DecodeJSON(r, &body, httpx.DecodeOptions{}); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	if len(body.Traits) == 0 || string(body.Traits) == "null" {
		httpx.WriteError(w, r, httpx.BadRequest("The field traits is required and must be a JSON object."))
		return
	}
	i := &Identity{
		SchemaID: body.SchemaID, Traits: body.Traits, State: body.State,
		Credentials: map[CredentialsType]Credentials{},
	}
	for _, a := range body.VerifiableAddresses {
		va := VerifiableAddress{Value: a.Value, Verified: a.Verified, Via: a.Via, Status: a.Status}
		if a.VerifiedAt != nil {
			t := a.VerifiedAt.UTC().Truncate(time.Microsecond) // storage precision
			va.VerifiedAt = &t
		}
		i.VerifiableAddresses = append(i.VerifiableAddresses, va)
	}
	for _, a := range body.RecoveryAddresses {
		i.RecoveryAddresses = append(i.RecoveryAddresses, RecoveryAddress{Value: a.Value, Via: a.Via})
	}
	var err error
	if i.MetadataPublic, err = metadata("metadata_public", body.MetadataPublic); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	if i.MetadataAdmin, err = metadata("metadata_admin", body.MetadataAdmin); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	// Addresses are derived from the traits; the supplied lists only carry
	// verification state over to matching addresses.
	for k := range i.VerifiableAddresses {
		a := &i.VerifiableAddresses[k]
		a.ID = uuid.Nil
		if a.Verified && a.VerifiedAt == nil {
			t := Now()
			a.VerifiedAt = &t
		}
		if a.Status != "" && a.Status != AddressStatusPending && a.Status != AddressStatusSent && a.Status != AddressStatusCompleted {
			httpx.WriteError(w, r, httpx.BadRequest(fmt.Sprintf("The verifiable address status %q is not valid; use pending, sent or completed.", a.Status)))
			return
		}
	}
	for k := range i.RecoveryAddresses {
		i.RecoveryAddresses[k].ID = uuid.Nil
	}
	if err := h.importCredentials(r.Context(), i, body.Credentials); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	if err := h.svc.Create(r.Context(), i); err != nil {
		httpx.WriteError(w, r, h.mapError(err))
		return
	}
	loc := *h.adminURL
	loc.Path = strings.TrimSuffix(loc.Path, "/") + "/identities/" + i.ID.String()
	w.Header().Set("Location", loc.String())
	httpx.WriteJSON(w, http.StatusCreated, adminView(i, false))
}

func (h *AdminHandler) importCredentials(ctx context.Context, i *Identity, in *importCredentials) error {
	if in == nil {
		return nil
	}
	now := Now()
	if p := in.Password; p != nil {
		var hashed []byte
		switch {
		case p.Config.HashedPassword != "" && p.Config.Password != "":
			return httpx.BadRequest("Import either password or hashed_password, not both.")
		case p.Config.HashedPassword != "":
			hashed = []byte(p.Config.HashedPassword)
			if !hash.IsKnownFormat(hashed) {
				return httpx.BadRequest("The imported hashed_password does not match any known hash format (bcrypt, argon2id, argon2i, pbkdf2, scrypt).")
			}
		case p.Config.Password != "":
			var err error
			if hashed, err = h.hasher.Generate(ctx, []byte(p.Config.Password)); err != nil {
				if errors.Is(err, hash.ErrPasswordTooLong) {
					return httpx.BadRequest("The imported password is longer than the configured hasher accepts (72 bytes for bcrypt).")
				}
				return err
			}
		}
		if hashed != nil {
			cfg, _ := json.Marshal(PasswordConfig{HashedPassword: string(hashed)})
			i.Credentials[CredentialsPassword] = Credentials{Type: CredentialsPassword, Config: cfg, CreatedAt: now, UpdatedAt: now}
		}
	}
	if o := in.OIDC; o != nil && len(o.Config.Providers) > 0 {
		cfg := OIDCConfig{}
		var identifiers []string
		for _, p := range o.Config.Providers {
			if p.Provider == "" || p.Subject == "" {
				return httpx.BadRequest("Every imported oidc provider needs both provider and subject.")
			}
			cfg.Providers = append(cfg.Providers, OIDCProviderCredential{Provider: p.Provider, Subject: p.Subject})
			identifiers = append(identifiers, p.Provider+":"+p.Subject)
		}
		raw, _ := json.Marshal(cfg)
		i.Credentials[CredentialsOIDC] = Credentials{Type: CredentialsOIDC, Identifiers: identifiers, Config: raw, CreatedAt: now, UpdatedAt: now}
	}
	return nil
}

// mapError turns service and storage errors into API errors.
func (h *AdminHandler) mapError(err error) error {
	var ve *schema.ValidationError
	switch {
	case errors.As(err, &ve):
		return httpx.BadRequest(ve.Error()).WithCause(err)
	case IsConflict(err):
		return httpx.Conflict("An identity with the same identifier, address or credential exists already.").WithCause(err)
	case IsNotFound(err):
		return NotFoundError()
	}
	return err
}

// NotFoundError is the 404 Kratos answers for a missing identity.
func NotFoundError() *httpx.Error {
	return httpx.NotFound("").WithMessage("Unable to locate the resource")
}

// ParseID reads an identity id path value; malformed ids are answered as
// missing resources (404), as Kratos does, with a reason that says why.
func ParseID(raw string) (uuid.UUID, error) {
	id, err := uuid.Parse(raw)
	if err != nil || len(raw) != 36 {
		return uuid.Nil, NotFoundError().WithReason(fmt.Sprintf("%q is not a valid identity id (a UUID was expected).", truncate(raw, 64)))
	}
	return id, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Get handles GET /admin/identities/{id}.
func (h *AdminHandler) Get(w http.ResponseWriter, r *http.Request) {
	id, err := ParseID(r.PathValue("id"))
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	withOIDC := false
	for _, v := range r.URL.Query()["include_credential"] {
		if v != string(CredentialsOIDC) {
			httpx.WriteError(w, r, httpx.BadRequest(fmt.Sprintf("include_credential=%q is not supported; only oidc may be included.", truncate(v, 64))))
			return
		}
		withOIDC = true
	}
	cached := h.views != nil && !withOIDC
	now := time.Now()
	if cached {
		if body, ok := h.views.Get(id, now, nil); ok {
			writeJSONBody(w, body)
			return
		}
	}
	epoch := h.views.Begin()
	i, err := h.svc.Get(r.Context(), id, true)
	if err != nil {
		httpx.WriteError(w, r, h.mapError(err))
		return
	}
	if !cached {
		out := adminView(i, withOIDC)
		if c, ok := out.Credentials[CredentialsOIDC]; ok && withOIDC && h.revealOIDC != nil {
			c.Config = h.revealOIDC(c.Config)
			out.Credentials[CredentialsOIDC] = c
		}
		httpx.WriteJSON(w, http.StatusOK, out)
		return
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // as httpx.WriteJSON
	if err := enc.Encode(adminView(i, false)); err != nil {
		httpx.WriteError(w, r, httpx.Internal(fmt.Errorf("encoding response: %w", err)))
		return
	}
	body := buf.Bytes()
	h.views.Put(epoch, id, id, body, int64(len(body))+adminViewOverhead, now)
	writeJSONBody(w, body)
}

// adminViewOverhead estimates an admin view entry's memory besides its body.
const adminViewOverhead = 128

// writeJSONBody writes a rendered JSON answer as httpx.WriteJSON does.
func writeJSONBody(w http.ResponseWriter, body []byte) {
	w.Header()["Content-Type"] = []string{"application/json; charset=utf-8"}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// adminView is what the admin API shows of an identity: everything, with
// credentials reduced to their metadata (type, identifiers, version, times).
// Secrets never leave the server; only oidc configs are shown, and only when
// asked for with include_credential=oidc.
func adminView(i *Identity, withOIDCConfig bool) *Identity {
	out := *i
	out.Credentials = nil
	for t, c := range i.Credentials {
		if out.Credentials == nil {
			out.Credentials = map[CredentialsType]Credentials{}
		}
		if !(withOIDCConfig && t == CredentialsOIDC) {
			c.Config = nil
		}
		out.Credentials[t] = c
	}
	return &out
}

// List handles GET /admin/identities.
func (h *AdminHandler) List(w http.ResponseWriter, r *http.Request) {
	page, err := httpx.ParsePage(r)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	list, total, err := h.svc.List(r.Context(), page.Offset(), page.PerPage)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	if list == nil {
		list = []*Identity{} // an empty page is [], never null
	}
	base := *h.adminURL
	base.Path = strings.TrimSuffix(base.Path, "/") + "/admin/identities"
	httpx.SetPaginationHeaders(w, &base, total, page.Number, page.PerPage, 1)
	// Written by hand (Identity.AppendAdminJSON): a page holds up to a
	// thousand identities, and reflection was most of the encoding cost.
	b := make([]byte, 0, 1024*len(list)+2)
	b = append(b, '[')
	for k, i := range list {
		if k > 0 {
			b = append(b, ',')
		}
		b = i.AppendAdminJSON(b)
	}
	b = append(b, ']', '\n')
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// Update handles PUT /admin/identities/{id}: a full replacement of schema_id,
// traits and state (empty schema_id or state leave them as they are).
func (h *AdminHandler) Update(w http.ResponseWriter, r *http.Request) {
	id, err := ParseID(r.PathValue("id"))
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	var body updateBody
	if err := httpx.DecodeJSON(r, &body, httpx.DecodeOptions{}); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	i, err := h.svc.Get(r.Context(), id, true)
	if err != nil {
		httpx.WriteError(w, r, h.mapError(err))
		return
	}
	if body.SchemaID != "" {
		i.SchemaID = body.SchemaID
	}
	if body.State != "" && body.State != i.State {
		if !body.State.Valid() {
			httpx.WriteError(w, r, httpx.BadRequest(fmt.Sprintf("The identity state %q is not valid; use active or inactive.", body.State)))
			return
		}
		i.State = body.State
		now := Now()
		i.StateChangedAt = &now
	}
	i.Traits = body.Traits
	if len(i.Traits) == 0 || string(i.Traits) == "null" {
		httpx.WriteError(w, r, httpx.BadRequest("The field traits is required and must be a JSON object."))
		return
	}
	if body.MetadataPublic != nil {
		if i.MetadataPublic, err = metadata("metadata_public", body.MetadataPublic); err != nil {
			httpx.WriteError(w, r, err)
			return
		}
	}
	if body.MetadataAdmin != nil {
		if i.MetadataAdmin, err = metadata("metadata_admin", body.MetadataAdmin); err != nil {
			httpx.WriteError(w, r, err)
			return
		}
	}
	if err := h.svc.Update(r.Context(), i); err != nil {
		httpx.WriteError(w, r, h.mapError(err))
		return
	}
	httpx.WriteJSON(w, http.StatusOK, adminView(i, false))
}

// Delete handles DELETE /admin/identities/{id}.
func (h *AdminHandler) Delete(w http.ResponseWriter, r *http.Request) {
	id, err := ParseID(r.PathValue("id"))
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	if err := h.svc.Delete(r.Context(), id); err != nil {
		httpx.WriteError(w, r, h.mapError(err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
