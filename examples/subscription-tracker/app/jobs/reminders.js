// The daily reminders job: for each subscription renewing within REMINDER_DAYS
// days (default 3), prints one line and, when SMTP_HOST is set, mails the user.
// Exactly once per subscription and renewal date: the row in reminders_sent is
// inserted in the same transaction that covers the send, so a rerun (the same day
// or the next) skips it, and a failed send is retried by the next run.
// Exits 0 when every reminder was handled, 1 when one failed (systemd then marks
// the run failed and berth's on_failure_webhook fires).
"use strict";

const os = require("os");
const { createPool } = require("../lib/db");

const DAYS = Number(process.env.REMINDER_DAYS || 3);

// A mail sender for SMTP_HOST, or null: reminders then only go to the journal.
function mailer() {
  if (!process.env.SMTP_HOST) return null;
  const nodemailer = require("nodemailer");
  const port = Number(process.env.SMTP_PORT || 587);
  const transport = nodemailer.createTransport({
    host: process.env.SMTP_HOST,
    port,
    secure: process.env.SMTP_SECURE ? process.env.SMTP_SECURE === "true" : port === 465,
    auth: process.env.SMTP_USER ? { user: process.env.SMTP_USER, pass: process.env.SMTP_PASSWORD || "" } : undefined,
    connectionTimeout: 10000,
  });
  const from = process.env.SMTP_FROM || `subscription-tracker <reminders@${os.hostname()}>`;
  return (reminder) =>
    transport.sendMail({
      from,
      to: reminder.email,
      subject: `${reminder.name} renews on ${reminder.renews_on}`,
      text:
        `Hello,\n\nyour subscription "${reminder.name}" renews on ${reminder.renews_on} ` +
        `for ${(reminder.price_cents / 100).toFixed(2)} ${reminder.currency} (${reminder.period}).\n\n` +
        `-- subscription-tracker\n`,
    });
}

async function main() {
  if (!Number.isInteger(DAYS) || DAYS < 0) throw new Error(`REMINDER_DAYS must be a whole number of days, not '${process.env.REMINDER_DAYS}'`);
  const pool = createPool({ max: 2 });
  const send = mailer();
  let sent = 0;
  let failed = 0;
  try {
    const { rows: due } = await pool.query(
      `SELECT s.id, s.name, s.price_cents, s.currency, s.period, s.renews_on, u.email
         FROM subscriptions s JOIN users u ON u.id = s.user_id
        WHERE s.renews_on BETWEEN current_date AND current_date + $1::int
          AND NOT EXISTS (SELECT 1 FROM reminders_sent r
                           WHERE r.subscription_id = s.id AND r.renews_on = s.renews_on)
        ORDER BY s.renews_on, s.id`,
      [DAYS]
    );
    for (const reminder of due) {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        // Claims the reminder: a concurrent run waits on this row, then finds it taken.
        const claim = await client.query(
          `INSERT INTO reminders_sent (subscription_id, renews_on) VALUES ($1, $2)
           ON CONFLICT DO NOTHING RETURNING subscription_id`,
          [reminder.id, reminder.renews_on]
        );
        if (claim.rowCount === 0) {
          await client.query("ROLLBACK");
          continue;
        }
        if (send) await send(reminder);
        await client.query("COMMIT");
        console.log(
          `reminder: sub=${reminder.id} user=${reminder.email} name=${reminder.name} renews_on=${reminder.renews_on}` +
            (send ? " mailed=yes" : "")
        );
        sent += 1;
      } catch (err) {
        await client.query("ROLLBACK").catch(() => {});
        console.error(`reminder: sub=${reminder.id} user=${reminder.email} failed: ${err.message}`);
        failed += 1;
      } finally {
        client.release();
      }
    }
  } finally {
    await pool.end();
  }
  console.log(`reminders: ${sent} sent, ${failed} failed (window ${DAYS} days, ${process.env.SMTP_HOST ? `smtp ${process.env.SMTP_HOST}` : "journal only"})`);
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`reminders: failed: ${err.message}`);
    process.exit(1);
  }
);
