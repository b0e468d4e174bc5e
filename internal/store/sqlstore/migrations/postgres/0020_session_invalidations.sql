-- The session invalidation log: every write that changes a whoami answer
-- appends the identity's id here in the same transaction (and notifies the
-- hoplite_session_invalidations channel); each instance drops its cached
-- sessions of those identities.
CREATE TABLE session_invalidations (
  id BIGSERIAL PRIMARY KEY,
  identity_id UUID NOT NULL,
  created_at TIMESTAMP NOT NULL
);
CREATE INDEX session_invalidations_created_at_idx ON session_invalidations (created_at);
