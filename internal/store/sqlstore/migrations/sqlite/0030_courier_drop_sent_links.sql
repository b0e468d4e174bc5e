-- Messages that carried a single-use recovery or verification link keep
-- neither body nor template data once sent or abandoned, so the database
-- holds no usable link; this clears the ones stored before that rule.
UPDATE courier_messages SET body = '', template_data = '{}'
WHERE status IN (2, 4) AND template_type IN ('recovery_valid', 'verification_valid');
