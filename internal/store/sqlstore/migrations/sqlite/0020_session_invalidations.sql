-- The session invalidation log: every write that changes a whoami answer
-- appends the identity's id here in the same transaction; each instance
-- polls the log and drops its cached sessions of those identities.
-- AUTOINCREMENT: ids are never reused after old rows are pruned, so a
-- poller's cursor stays valid.
CREATE TABLE session_invalidations (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  identity_id CHAR(36) NOT NULL,
  created_at TIMESTAMP NOT NULL
);
CREATE INDEX session_invalidations_created_at_idx ON session_invalidations (created_at);
