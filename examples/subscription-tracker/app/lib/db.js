// The PostgreSQL pool, configured from DATABASE_URL (postgres://user:pw@host:5432/db).
"use strict";

const { Pool, types } = require("pg");

// DATE stays a "YYYY-MM-DD" string (no time zone shift); BIGINT ids become numbers.
types.setTypeParser(types.builtins.DATE, (value) => value);
types.setTypeParser(types.builtins.INT8, (value) => Number(value));

// A pool for DATABASE_URL. Exits the process with a message when it is not set.
function createPool({ max = Number(process.env.PG_POOL_MAX || 10) } = {}) {
  const connectionString = process.env.DATABASE_URL;
  if (!connectionString) {
    console.error("DATABASE_URL is not set (postgres://user:password@host:5432/database)");
    process.exit(1);
  }
  const pool = new Pool({
    connectionString,
    max,
    connectionTimeoutMillis: 3000,
    idleTimeoutMillis: 30000,
    statement_timeout: 10000,
  });
  // An idle client losing its connection (PostgreSQL restarted) must not crash the
  // process: the pool drops it and the next query opens a new one.
  pool.on("error", (err) => console.error(`database: idle client error: ${err.message}`));
  return pool;
}

module.exports = { createPool };
