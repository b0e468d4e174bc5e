-- Security events, append-only. identity_id has no foreign key: the
-- events of a deleted identity stay until the retention removes them.
CREATE TABLE audit_events (
  id CHAR(36) NOT NULL PRIMARY KEY,
  type VARCHAR(64) NOT NULL,
  identity_id CHAR(36) NULL,
  client_ip VARCHAR(64) NULL,
  details TEXT NOT NULL,
  created_at DATETIME NOT NULL
);
CREATE INDEX audit_events_created_idx ON audit_events (created_at);
CREATE INDEX audit_events_identity_idx ON audit_events (identity_id, created_at);
CREATE INDEX audit_events_type_idx ON audit_events (type, created_at);
