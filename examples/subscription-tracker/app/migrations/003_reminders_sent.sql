-- One row per reminder sent: one reminder per subscription and renewal date, so
-- that rerunning the reminders job (the same day or the next) never sends twice.
CREATE TABLE reminders_sent (
  subscription_id bigint NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
  renews_on       date NOT NULL,
  sent_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (subscription_id, renews_on)
);
