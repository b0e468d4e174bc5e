-- The courier's claims: a token per claiming round, so that only the worker
-- holding a message's claim can renew it or record its outcome.
ALTER TABLE courier_messages ADD COLUMN claim_token VARCHAR(64) NULL;
