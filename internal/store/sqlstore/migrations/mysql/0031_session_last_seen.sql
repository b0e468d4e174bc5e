-- When a session was last used (written at most once per slice of
-- session.idle_timeout), so idle sessions can end; NULL means not since it
-- was issued.
ALTER TABLE sessions ADD COLUMN last_seen_at DATETIME(6) NULL;
