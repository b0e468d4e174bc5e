-- The tables of a Kratos v0.9 database that hoplite migrate from-kratos
-- reads, in their final state at v0.9.0-alpha.3, written for the tests from
-- the documented schema (column names and kinds; indexes trimmed to the
-- unique ones). PostgreSQL flavour.

CREATE TABLE schema_migration (version VARCHAR(48) NOT NULL);
CREATE UNIQUE INDEX schema_migration_version_idx ON schema_migration (version);

CREATE TABLE networks (
  id UUID NOT NULL PRIMARY KEY,
  created_at TIMESTAMP NOT NULL,
  updated_at TIMESTAMP NOT NULL
);

CREATE TABLE identities (
  id UUID NOT NULL PRIMARY KEY,
  nid UUID NULL REFERENCES networks (id) ON DELETE CASCADE,
  schema_id VARCHAR(2048) NOT NULL,
  traits JSONB NOT NULL,
  state VARCHAR(255) NOT NULL DEFAULT 'active',
  state_changed_at TIMESTAMP NULL,
  created_at TIMESTAMP NOT NULL,
  updated_at TIMESTAMP NOT NULL
);

CREATE TABLE identity_credential_types (
  id UUID NOT NULL PRIMARY KEY,
  name VARCHAR(32) NOT NULL
);
CREATE UNIQUE INDEX identity_credential_types_name_idx ON identity_credential_types (name);

CREATE TABLE identity_credentials (
  id UUID NOT NULL PRIMARY KEY,
  config JSONB NOT NULL,
  identity_credential_type_id UUID NOT NULL REFERENCES identity_credential_types (id) ON DELETE CASCADE,
  identity_id UUID NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
  nid UUID NULL REFERENCES networks (id) ON DELETE CASCADE,
  version INTEGER NOT NULL DEFAULT 0,
  created_at TIMESTAMP NOT NULL,
  updated_at TIMESTAMP NOT NULL
);

CREATE TABLE identity_credential_identifiers (
  id UUID NOT NULL PRIMARY KEY,
  identifier VARCHAR(255) NOT NULL,
  identity_credential_id UUID NOT NULL REFERENCES identity_credentials (id) ON DELETE CASCADE,
  nid UUID NULL REFERENCES networks (id) ON DELETE CASCADE,
  identity_credential_type_id UUID NOT NULL REFERENCES identity_credential_types (id) ON DELETE CASCADE,
  created_at TIMESTAMP NOT NULL,
  updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX identity_credential_identifiers_identifier_nid_type_uq_idx ON identity_credential_identifiers (nid, identity_credential_type_id, identifier);

CREATE TABLE identity_verifiable_addresses (
  id UUID NOT NULL PRIMARY KEY,
  status VARCHAR(16) NOT NULL,
  via VARCHAR(16) NOT NULL,
  verified BOOL NOT NULL,
  value VARCHAR(400) NOT NULL,
  verified_at TIMESTAMP NULL,
  identity_id UUID NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
  nid UUID NULL REFERENCES networks (id) ON DELETE CASCADE,
  created_at TIMESTAMP NOT NULL,
  updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX identity_verifiable_addresses_status_via_uq_idx ON identity_verifiable_addresses (nid, via, value);

CREATE TABLE identity_recovery_addresses (
  id UUID NOT NULL PRIMARY KEY,
  via VARCHAR(16) NOT NULL,
  value VARCHAR(400) NOT NULL,
  identity_id UUID NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
  nid UUID NULL REFERENCES networks (id) ON DELETE CASCADE,
  created_at TIMESTAMP NOT NULL,
  updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX identity_recovery_addresses_status_via_uq_idx ON identity_recovery_addresses (nid, via, value);

CREATE TABLE sessions (
  id UUID NOT NULL PRIMARY KEY,
  issued_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  expires_at TIMESTAMP NOT NULL,
  authenticated_at TIMESTAMP NOT NULL,
  identity_id UUID NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
  token VARCHAR(32) NULL,
  active BOOL NULL DEFAULT false,
  nid UUID NULL REFERENCES networks (id) ON DELETE CASCADE,
  logout_token VARCHAR(32) NULL,
  aal VARCHAR(4) NOT NULL DEFAULT 'aal1',
  authentication_methods JSONB NOT NULL,
  created_at TIMESTAMP NOT NULL,
  updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX sessions_token_uq_idx ON sessions (token);
CREATE UNIQUE INDEX sessions_logout_token_uq_idx ON sessions (logout_token);

CREATE TABLE courier_messages (
  id UUID NOT NULL PRIMARY KEY,
  type INTEGER NOT NULL,
  status INTEGER NOT NULL,
  body TEXT NOT NULL,
  subject VARCHAR(255) NOT NULL,
  recipient VARCHAR(255) NOT NULL,
  template_type VARCHAR(255) NOT NULL DEFAULT '',
  template_data BYTEA NULL,
  nid UUID NULL REFERENCES networks (id) ON DELETE CASCADE,
  created_at TIMESTAMP NOT NULL,
  updated_at TIMESTAMP NOT NULL
);

-- Lookups by owner (the foreign keys' indexes on MySQL).
CREATE INDEX identity_credentials_nid_identity_id_idx ON identity_credentials (identity_id, nid);
CREATE INDEX identity_credential_identifiers_nid_identity_credential_id_idx ON identity_credential_identifiers (identity_credential_id, nid);
CREATE INDEX identity_recovery_addresses_nid_identity_id_idx ON identity_recovery_addresses (identity_id, nid);
CREATE INDEX identity_verifiable_addresses_nid_identity_id_idx ON identity_verifiable_addresses (identity_id, nid);
CREATE INDEX sessions_identity_id_idx ON sessions (identity_id);
