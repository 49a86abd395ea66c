-- Accounts: one per e-mail address (stored lowercased), scrypt password hashes.
CREATE TABLE users (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email         text NOT NULL UNIQUE CHECK (email = lower(email) AND length(email) <= 254),
  password_hash text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);
