-- 0001: the complete schema for identities, credentials, addresses, sessions,
-- the five self-service flow kinds, stored self-service errors, single-use
-- tokens, continuity containers and the courier queue.

CREATE TABLE identities (
  id CHAR(36) NOT NULL PRIMARY KEY,
  schema_id VARCHAR(255) NOT NULL,
  traits LONGTEXT NOT NULL,
  state VARCHAR(16) NOT NULL,
  state_changed_at DATETIME(6) NULL,
  available_aal VARCHAR(8) NOT NULL,
  metadata_public LONGTEXT NULL,
  metadata_admin LONGTEXT NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A narrow index on every identity: COUNT(*) for the list's X-Total-Count
-- scans it instead of the whole table (and lists can filter by state).
CREATE INDEX identities_state_idx ON identities (state);

CREATE TABLE identity_credentials (
  id CHAR(36) NOT NULL PRIMARY KEY,
  identity_id CHAR(36) NOT NULL,
  type VARCHAR(32) NOT NULL,
  config LONGTEXT NOT NULL,
  version INTEGER NOT NULL DEFAULT 0,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  CONSTRAINT identity_credentials_identity_fk FOREIGN KEY (identity_id) REFERENCES identities (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE UNIQUE INDEX identity_credentials_identity_type_idx ON identity_credentials (identity_id, type);

-- The login lookup: one probe of the unique (type, identifier) index.
CREATE TABLE identity_credential_identifiers (
  id CHAR(36) NOT NULL PRIMARY KEY,
  identity_id CHAR(36) NOT NULL,
  credential_id CHAR(36) NOT NULL,
  type VARCHAR(32) NOT NULL,
  identifier VARCHAR(512) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  CONSTRAINT identity_credential_identifiers_credential_fk FOREIGN KEY (credential_id) REFERENCES identity_credentials (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE UNIQUE INDEX identity_credential_identifiers_type_identifier_idx ON identity_credential_identifiers (type, identifier);
CREATE INDEX identity_credential_identifiers_credential_idx ON identity_credential_identifiers (credential_id);
CREATE INDEX identity_credential_identifiers_identity_idx ON identity_credential_identifiers (identity_id);

CREATE TABLE identity_verifiable_addresses (
  id CHAR(36) NOT NULL PRIMARY KEY,
  identity_id CHAR(36) NOT NULL,
  via VARCHAR(16) NOT NULL,
  value VARCHAR(512) NOT NULL,
  verified BOOLEAN NOT NULL,
  status VARCHAR(16) NOT NULL,
  verified_at DATETIME(6) NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  CONSTRAINT identity_verifiable_addresses_identity_fk FOREIGN KEY (identity_id) REFERENCES identities (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE UNIQUE INDEX identity_verifiable_addresses_via_value_idx ON identity_verifiable_addresses (via, value);
CREATE INDEX identity_verifiable_addresses_identity_idx ON identity_verifiable_addresses (identity_id);

CREATE TABLE identity_recovery_addresses (
  id CHAR(36) NOT NULL PRIMARY KEY,
  identity_id CHAR(36) NOT NULL,
  via VARCHAR(16) NOT NULL,
  value VARCHAR(512) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  CONSTRAINT identity_recovery_addresses_identity_fk FOREIGN KEY (identity_id) REFERENCES identities (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE UNIQUE INDEX identity_recovery_addresses_via_value_idx ON identity_recovery_addresses (via, value);
CREATE INDEX identity_recovery_addresses_identity_idx ON identity_recovery_addresses (identity_id);

-- Session tokens are stored only as keyed hashes; whoami is one probe of the
-- unique token_hash index.
CREATE TABLE sessions (
  id CHAR(36) NOT NULL PRIMARY KEY,
  identity_id CHAR(36) NOT NULL,
  token_hash CHAR(64) NOT NULL,
  active BOOLEAN NOT NULL,
  aal VARCHAR(8) NOT NULL,
  authentication_methods LONGTEXT NOT NULL,
  issued_at DATETIME(6) NOT NULL,
  expires_at DATETIME(6) NOT NULL,
  authenticated_at DATETIME(6) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  CONSTRAINT sessions_identity_fk FOREIGN KEY (identity_id) REFERENCES identities (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE UNIQUE INDEX sessions_token_hash_idx ON sessions (token_hash);
CREATE INDEX sessions_identity_idx ON sessions (identity_id, created_at);

-- One table serves login, registration, settings, recovery and verification
-- flows; kind tells them apart and internal_context holds what only some
-- kinds or methods need.
CREATE TABLE selfservice_flows (
  id CHAR(36) NOT NULL PRIMARY KEY,
  kind VARCHAR(16) NOT NULL,
  type VARCHAR(8) NOT NULL,
  request_url LONGTEXT NOT NULL,
  issued_at DATETIME(6) NOT NULL,
  expires_at DATETIME(6) NOT NULL,
  active_method VARCHAR(32) NOT NULL,
  csrf_token_hash VARCHAR(64) NOT NULL,
  state VARCHAR(32) NOT NULL,
  ui LONGTEXT NOT NULL,
  identity_id CHAR(36) NULL,
  refresh BOOLEAN NOT NULL,
  requested_aal VARCHAR(8) NOT NULL,
  internal_context LONGTEXT NOT NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  CONSTRAINT selfservice_flows_identity_fk FOREIGN KEY (identity_id) REFERENCES identities (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX selfservice_flows_expires_idx ON selfservice_flows (expires_at);
CREATE INDEX selfservice_flows_identity_idx ON selfservice_flows (identity_id);

CREATE TABLE selfservice_errors (
  id CHAR(36) NOT NULL PRIMARY KEY,
  error LONGTEXT NOT NULL,
  csrf_token_hash VARCHAR(64) NOT NULL,
  was_seen BOOLEAN NOT NULL,
  seen_at DATETIME(6) NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX selfservice_errors_created_idx ON selfservice_errors (created_at);

-- Single-use tokens sent by email (recovery and verification links), stored
-- only as keyed hashes.
CREATE TABLE selfservice_tokens (
  id CHAR(36) NOT NULL PRIMARY KEY,
  kind VARCHAR(16) NOT NULL,
  token_hash CHAR(64) NOT NULL,
  identity_id CHAR(36) NULL,
  address_id CHAR(36) NULL,
  flow_id CHAR(36) NULL,
  used BOOLEAN NOT NULL,
  used_at DATETIME(6) NULL,
  expires_at DATETIME(6) NOT NULL,
  issued_at DATETIME(6) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  CONSTRAINT selfservice_tokens_identity_fk FOREIGN KEY (identity_id) REFERENCES identities (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE UNIQUE INDEX selfservice_tokens_hash_idx ON selfservice_tokens (token_hash);
CREATE INDEX selfservice_tokens_identity_idx ON selfservice_tokens (identity_id);

CREATE TABLE continuity_containers (
  id CHAR(36) NOT NULL PRIMARY KEY,
  name VARCHAR(255) NOT NULL,
  identity_id CHAR(36) NULL,
  payload LONGTEXT NOT NULL,
  expires_at DATETIME(6) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  CONSTRAINT continuity_containers_identity_fk FOREIGN KEY (identity_id) REFERENCES identities (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX continuity_containers_identity_idx ON continuity_containers (identity_id);

-- The outgoing mail queue. status: 1 queued, 2 sent, 3 processing, 4 abandoned
-- (Kratos' numbering). claimed_until lets a crashed worker's claim lapse.
CREATE TABLE courier_messages (
  id CHAR(36) NOT NULL PRIMARY KEY,
  type INTEGER NOT NULL,
  status INTEGER NOT NULL,
  recipient VARCHAR(512) NOT NULL,
  subject LONGTEXT NOT NULL,
  body LONGTEXT NOT NULL,
  template_type VARCHAR(64) NOT NULL,
  template_data LONGTEXT NOT NULL,
  send_count INTEGER NOT NULL DEFAULT 0,
  last_error LONGTEXT NULL,
  claimed_until DATETIME(6) NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX courier_messages_status_idx ON courier_messages (status, created_at);
