-- How a pending authenticator app was begun ('first-use', 'invite' or 'step-up'), so its
-- confirmation can apply the enrolment rule again: under "invite", only an enrolment begun by
-- spending an invitation completes as a first factor.
ALTER TABLE totp_factors ADD COLUMN begun TEXT;

UPDATE stepgate_meta SET value = '8' WHERE key = 'schema';
