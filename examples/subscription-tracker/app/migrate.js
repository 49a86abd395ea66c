// Applies the SQL files of migrations/ in name order, each once, each in its own
// transaction, recording them in schema_migrations. Idempotent: a rerun applies
// nothing. berth runs it as [app.run] migrate = "node migrate.js" before a new
// release starts; on failure it prints the file and PostgreSQL's error and exits 1,
// and the deploy stops with the old release still serving.
"use strict";

const crypto = require("crypto");
const fs = require("fs");
const path = require("path");
const { Client } = require("pg");

const DIR = path.join(__dirname, "migrations");
// Any number: the key of the advisory lock that serializes concurrent runs.
const LOCK_KEY = 4242001;

// "line L" of `sql` for a PostgreSQL error position (1-based character offset).
function where(sql, position) {
  if (!position) return "";
  const line = sql.slice(0, Number(position) - 1).split("\n").length;
  return ` (line ${line})`;
}

async function main() {
  if (!process.env.DATABASE_URL) throw new Error("DATABASE_URL is not set");
  const files = fs.readdirSync(DIR).filter((f) => f.endsWith(".sql")).sort();
  const client = new Client({ connectionString: process.env.DATABASE_URL, connectionTimeoutMillis: 10000 });
  await client.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1)", [LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    text PRIMARY KEY,
      checksum   text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await client.query("SELECT version, checksum FROM schema_migrations");
    const applied = new Map(rows.map((r) => [r.version, r.checksum]));

    let count = 0;
    for (const file of files) {
      const sql = fs.readFileSync(path.join(DIR, file), "utf8");
      const checksum = crypto.createHash("sha256").update(sql).digest("hex");
      if (applied.has(file)) {
        if (applied.get(file) !== checksum) {
          throw new Error(`${file} was changed after it was applied; add a new migration instead of editing it`);
        }
        continue;
      }
      try {
        await client.query("BEGIN");
        await client.query(sql);
        await client.query("INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)", [file, checksum]);
        await client.query("COMMIT");
      } catch (err) {
        await client.query("ROLLBACK").catch(() => {});
        throw new Error(`${file}${where(sql, err.position)}: ${err.message}${err.code ? ` [SQLSTATE ${err.code}]` : ""}`);
      }
      console.log(`migrate: applied ${file}`);
      count += 1;
    }
    console.log(count ? `migrate: ${count} migration(s) applied` : `migrate: up to date (${files.length} migrations)`);
  } finally {
    await client.end();
  }
}

main().catch((err) => {
  console.error(`migrate: failed: ${err.message}`);
  process.exit(1);
});
