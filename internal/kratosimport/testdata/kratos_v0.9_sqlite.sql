-- The tables of a Kratos v0.9 database that hoplite migrate from-kratos
-- reads, in their final state at v0.9.0-alpha.3, written for the tests from
-- the documented schema (column names and kinds; indexes trimmed to the
-- unique ones). SQLite flavour.

CREATE TABLE schema_migration (version VARCHAR(48) NOT NULL);
CREATE UNIQUE INDEX schema_migration_version_idx ON schema_migration (version);

CREATE TABLE networks (
  id CHAR(36) NOT NULL PRIMARY KEY,
  created_at DATETIME NOT NULL,
  updated_at DATETIME NOT NULL
);

CREATE TABLE identities (
  id CHAR(36) NOT NULL PRIMARY KEY,
  nid CHAR(36) NULL REFERENCES networks (id) ON DELETE CASCADE,
  schema_id VARCHAR(2048) NOT NULL,
  traits TEXT NOT NULL,
  state VARCHAR(255) NOT NULL DEFAULT 'active',
  state_changed_at DATETIME NULL,
  created_at DATETIME NOT NULL,
  updated_at DATETIME NOT NULL
);

CREATE TABLE identity_credential_types (
  id CHAR(36) NOT NULL PRIMARY KEY,
  name VARCHAR(32) NOT NULL
);
CREATE UNIQUE INDEX identity_credential_types_name_idx ON identity_credential_types (name);

CREATE TABLE identity_credentials (
  id CHAR(36) NOT NULL PRIMARY KEY,
  config TEXT NOT NULL,
  identity_credential_type_id CHAR(36) NOT NULL REFERENCES identity_credential_types (id) ON DELETE CASCADE,
  identity_id CHAR(36) NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
  nid CHAR(36) NULL REFERENCES networks (id) ON DELETE CASCADE,
  version INTEGER NOT NULL DEFAULT 0,
  created_at DATETIME NOT NULL,
  updated_at DATETIME NOT NULL
);

CREATE TABLE identity_credential_identifiers (
  id CHAR(36) NOT NULL PRIMARY KEY,
  identifier VARCHAR(255) NOT NULL,
  identity_credential_id CHAR(36) NOT NULL REFERENCES identity_credentials (id) ON DELETE CASCADE,
  nid CHAR(36) NULL REFERENCES networks (id) ON DELETE CASCADE,
  identity_credential_type_id CHAR(36) NOT NULL REFERENCES identity_credential_types (id) ON DELETE CASCADE,
  created_at DATETIME NOT NULL,
  updated_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX identity_credential_identifiers_identifier_nid_type_uq_idx ON identity_credential_identifiers (nid, identity_credential_type_id, identifier);

CREATE TABLE identity_verifiable_addresses (
  id CHAR(36) NOT NULL PRIMARY KEY,
  status VARCHAR(16) NOT NULL,
  via VARCHAR(16) NOT NULL,
  verified BOOL NOT NULL,
  value VARCHAR(400) NOT NULL,
  verified_at DATETIME NULL,
  identity_id CHAR(36) NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
  nid CHAR(36) NULL REFERENCES networks (id) ON DELETE CASCADE,
  created_at DATETIME NOT NULL,
  updated_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX identity_verifiable_addresses_status_via_uq_idx ON identity_verifiable_addresses (nid, via, value);

CREATE TABLE identity_recovery_addresses (
  id CHAR(36) NOT NULL PRIMARY KEY,
  via VARCHAR(16) NOT NULL,
  value VARCHAR(400) NOT NULL,
  identity_id CHAR(36) NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
  nid CHAR(36) NULL REFERENCES networks (id) ON DELETE CASCADE,
  created_at DATETIME NOT NULL,
  updated_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX identity_recovery_addresses_status_via_uq_idx ON identity_recovery_addresses (nid, via, value);

CREATE TABLE sessions (
  id CHAR(36) NOT NULL PRIMARY KEY,
  issued_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  expires_at DATETIME NOT NULL,
  authenticated_at DATETIME NOT NULL,
  identity_id CHAR(36) NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
  token VARCHAR(32) NULL,
  active BOOL NULL DEFAULT false,
  nid CHAR(36) NULL REFERENCES networks (id) ON DELETE CASCADE,
  logout_token VARCHAR(32) NULL,
  aal VARCHAR(4) NOT NULL DEFAULT 'aal1',
  authentication_methods TEXT NOT NULL,
  created_at DATETIME NOT NULL,
  updated_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX sessions_token_uq_idx ON sessions (token);
CREATE UNIQUE INDEX sessions_logout_token_uq_idx ON sessions (logout_token);

CREATE TABLE courier_messages (
  id CHAR(36) NOT NULL PRIMARY KEY,
  type INTEGER NOT NULL,
  status INTEGER NOT NULL,
  body TEXT NOT NULL,
  subject VARCHAR(255) NOT NULL,
  recipient VARCHAR(255) NOT NULL,
  template_type VARCHAR(255) NOT NULL DEFAULT '',
  template_data BLOB NULL,
  nid CHAR(36) NULL REFERENCES networks (id) ON DELETE CASCADE,
  created_at DATETIME NOT NULL,
  updated_at DATETIME NOT NULL
);

-- Lookups by owner (the foreign keys' indexes on MySQL).
CREATE INDEX identity_credentials_nid_identity_id_idx ON identity_credentials (identity_id, nid);
CREATE INDEX identity_credential_identifiers_nid_identity_credential_id_idx ON identity_credential_identifiers (identity_credential_id, nid);
CREATE INDEX identity_recovery_addresses_nid_identity_id_idx ON identity_recovery_addresses (identity_id, nid);
CREATE INDEX identity_verifiable_addresses_nid_identity_id_idx ON identity_verifiable_addresses (identity_id, nid);
CREATE INDEX sessions_identity_id_idx ON sessions (identity_id);
