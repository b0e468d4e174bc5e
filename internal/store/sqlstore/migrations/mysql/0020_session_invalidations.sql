-- The session invalidation log: every write that changes a whoami answer
-- appends the identity's id here in the same transaction; each instance
-- polls the log and drops its cached sessions of those identities.
CREATE TABLE session_invalidations (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  identity_id CHAR(36) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  KEY session_invalidations_created_at_idx (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
