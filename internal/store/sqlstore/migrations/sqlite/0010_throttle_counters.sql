-- Failure counters of the brute-force protection, shared by every instance.
-- key_hash is the SHA-256 of the counter's key (an account, a client
-- address, a mail recipient), so no identifier is stored in the clear.
CREATE TABLE throttle_counters (
  key_hash CHAR(64) NOT NULL PRIMARY KEY,
  failures INTEGER NOT NULL,
  window_start DATETIME NOT NULL,
  blocked_until DATETIME NULL,
  expires_at DATETIME NOT NULL
);
CREATE INDEX throttle_counters_expires_idx ON throttle_counters (expires_at);
