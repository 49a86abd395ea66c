// subscription-tracker: a small HTTP API (users, subscriptions, JWT auth) on
// PostgreSQL, as berth runs it: one process per instance, PORT set by the unit,
// DATABASE_URL and JWT_SECRET from the env file, one log line per request on
// stdout (journald keeps it), graceful shutdown on SIGTERM for zero-downtime deploys.
"use strict";

const fs = require("fs");
const http = require("http");
const path = require("path");

const { createPool } = require("./lib/db");
const jwt = require("./lib/jwt");
const password = require("./lib/password");

const PORT = Number(process.env.PORT || 3000);
const HOST = process.env.HOST || "127.0.0.1";
const JWT_SECRET = process.env.JWT_SECRET;
const TOKEN_TTL = Number(process.env.TOKEN_TTL_SECONDS || 7 * 24 * 3600);
const MAX_BODY = 64 * 1024;
const SHUTDOWN_GRACE_MS = 20000; // below the unit's TimeoutStopSec (30 s)

if (!JWT_SECRET) {
  console.error("JWT_SECRET is not set (berth generates it: [app.run.secrets] JWT_SECRET = { generate = true })");
  process.exit(1);
}

const pool = createPool();

// An error that becomes a JSON response: { "error": message }.
class HttpError extends Error {
  constructor(status, message, headers = {}) {
    super(message);
    this.status = status;
    this.headers = headers;
  }
}

let shuttingDown = false;

function send(res, status, body, headers = {}) {
  const payload = body === undefined ? "" : JSON.stringify(body);
  const head = { ...headers };
  if (payload) {
    head["content-type"] = "application/json; charset=utf-8";
    head["content-length"] = Buffer.byteLength(payload);
  }
  // While shutting down, every response closes its connection so that server.close()
  // can finish as soon as the in-flight requests are answered.
  if (shuttingDown) head.connection = "close";
  res.writeHead(status, head);
  res.end(payload);
}

function readJson(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on("data", (chunk) => {
      size += chunk.length;
      // Too large: answer now, and let the rest of the body drain unread.
      if (size > MAX_BODY) return reject(new HttpError(413, `request body larger than ${MAX_BODY} bytes`));
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (size > MAX_BODY) return;
      const text = Buffer.concat(chunks).toString("utf8");
      if (!text) return reject(new HttpError(400, "a JSON body is required"));
      try {
        const value = JSON.parse(text);
        if (typeof value !== "object" || value === null || Array.isArray(value)) {
          return reject(new HttpError(400, "the JSON body must be an object"));
        }
        resolve(value);
      } catch (err) {
        reject(new HttpError(400, `invalid JSON: ${err.message}`));
      }
    });
    req.on("error", reject);
  });
}

// --- health ------------------------------------------------------------------

// A release can be made unhealthy on purpose (tests of the deploy gate and of
// rollback): HEALTH_FAIL=1 in the environment, or a file FAIL_HEALTH in the app's folder.
function forcedUnhealthy() {
  return (
    process.env.HEALTH_FAIL === "1" ||
    fs.existsSync(path.join(__dirname, "FAIL_HEALTH")) ||
    fs.existsSync(path.join(process.cwd(), "FAIL_HEALTH"))
  );
}

async function health(req, res) {
  if (forcedUnhealthy()) {
    return send(res, 500, { status: "error", reason: "forced unhealthy (HEALTH_FAIL=1 or FAIL_HEALTH file)" });
  }
  try {
    await pool.query("SELECT 1");
    send(res, 200, { status: "ok", db: "ok" });
  } catch (err) {
    console.error(`health: database check failed: ${err.message}`);
    send(res, 503, { status: "error", db: "down" });
  }
}

// --- users ---------------------------------------------------------------------

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function credentials(body) {
  const email = typeof body.email === "string" ? body.email.trim().toLowerCase() : "";
  if (!EMAIL.test(email) || email.length > 254) throw new HttpError(400, "email must be an e-mail address");
  if (typeof body.password !== "string" || body.password.length < 8 || body.password.length > 200) {
    throw new HttpError(400, "password must be a string of 8 to 200 characters");
  }
  return { email, password: body.password };
}

function tokenFor(user) {
  return jwt.sign({ sub: user.id, email: user.email }, JWT_SECRET, TOKEN_TTL);
}

async function signup(req, res) {
  const { email, password: plain } = credentials(await readJson(req));
  const hash = await password.hash(plain);
  try {
    const { rows } = await pool.query(
      "INSERT INTO users (email, password_hash) VALUES ($1, $2) RETURNING id, email",
      [email, hash]
    );
    send(res, 201, { token: tokenFor(rows[0]) });
  } catch (err) {
    if (err.code === "23505") throw new HttpError(409, "an account with this email already exists");
    throw err;
  }
}

async function signin(req, res) {
  const { email, password: plain } = credentials(await readJson(req));
  const { rows } = await pool.query("SELECT id, email, password_hash FROM users WHERE email = $1", [email]);
  if (rows.length === 0 || !(await password.verify(plain, rows[0].password_hash))) {
    throw new HttpError(401, "wrong email or password");
  }
  send(res, 200, { token: tokenFor(rows[0]) });
}

// The signed-in user's id, from `Authorization: Bearer TOKEN`.
function authenticate(req) {
  const header = req.headers.authorization || "";
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  const challenge = { "www-authenticate": 'Bearer realm="api"' };
  if (!match) throw new HttpError(401, "sign in first: Authorization: Bearer TOKEN", challenge);
  const claims = jwt.verify(match[1], JWT_SECRET);
  if (!claims || !Number.isSafeInteger(claims.sub)) {
    throw new HttpError(401, "invalid or expired token", challenge);
  }
  return claims.sub;
}

// --- subscriptions -------------------------------------------------------------

const COLUMNS = "id, name, price_cents, currency, period, renews_on, created_at, updated_at";
const PERIODS = ["weekly", "monthly", "yearly"];

function validDate(text) {
  if (typeof text !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const [y, m, d] = text.split("-").map(Number);
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

const FIELDS = {
  name(v) {
    if (typeof v !== "string" || !v.trim() || v.length > 200) throw new HttpError(400, "name must be a non-empty string of at most 200 characters");
    return v.trim();
  },
  price_cents(v) {
    if (!Number.isInteger(v) || v < 0 || v > 2147483647) throw new HttpError(400, "price_cents must be a non-negative integer");
    return v;
  },
  currency(v) {
    if (typeof v !== "string" || !/^[A-Za-z]{3}$/.test(v)) throw new HttpError(400, "currency must be a 3-letter code like EUR");
    return v.toUpperCase();
  },
  period(v) {
    if (!PERIODS.includes(v)) throw new HttpError(400, `period must be one of ${PERIODS.join(", ")}`);
    return v;
  },
  renews_on(v) {
    if (!validDate(v)) throw new HttpError(400, "renews_on must be a date YYYY-MM-DD");
    return v;
  },
};

// The known fields of `body`, validated; `required` must all be present.
function subscriptionFields(body, required) {
  const out = {};
  for (const key of Object.keys(body)) {
    if (!FIELDS[key]) throw new HttpError(400, `unknown field '${key}' (known: ${Object.keys(FIELDS).join(", ")})`);
    out[key] = FIELDS[key](body[key]);
  }
  for (const key of required) {
    if (!(key in out)) throw new HttpError(400, `${key} is required`);
  }
  if (Object.keys(out).length === 0) throw new HttpError(400, `give at least one of ${Object.keys(FIELDS).join(", ")}`);
  return out;
}

async function listSubscriptions(req, res, userId, query) {
  const within = query.get("renewing_within");
  if (within !== null && !/^\d{1,4}$/.test(within)) throw new HttpError(400, "renewing_within must be a number of days");
  const { rows } = await pool.query(
    `SELECT ${COLUMNS} FROM subscriptions WHERE user_id = $1
       AND ($2::int IS NULL OR renews_on BETWEEN current_date AND current_date + $2::int)
     ORDER BY renews_on, id`,
    [userId, within === null ? null : Number(within)]
  );
  send(res, 200, { subscriptions: rows });
}

async function createSubscription(req, res, userId) {
  const f = subscriptionFields(await readJson(req), ["name", "price_cents", "renews_on"]);
  const { rows } = await pool.query(
    `INSERT INTO subscriptions (user_id, name, price_cents, currency, period, renews_on)
     VALUES ($1, $2, $3, COALESCE($4, 'USD'), COALESCE($5, 'monthly'), $6) RETURNING ${COLUMNS}`,
    [userId, f.name, f.price_cents, f.currency ?? null, f.period ?? null, f.renews_on]
  );
  send(res, 201, rows[0], { location: `/api/subscriptions/${rows[0].id}` });
}

async function getSubscription(req, res, userId, id) {
  const { rows } = await pool.query(`SELECT ${COLUMNS} FROM subscriptions WHERE id = $1 AND user_id = $2`, [id, userId]);
  if (rows.length === 0) throw new HttpError(404, `no subscription ${id}`);
  send(res, 200, rows[0]);
}

// PUT changes the fields given and keeps the others.
async function updateSubscription(req, res, userId, id) {
  const f = subscriptionFields(await readJson(req), []);
  const keys = Object.keys(f);
  const sets = keys.map((k, i) => `${k} = $${i + 3}`).join(", ");
  const { rows } = await pool.query(
    `UPDATE subscriptions SET ${sets}, updated_at = now() WHERE id = $1 AND user_id = $2 RETURNING ${COLUMNS}`,
    [id, userId, ...keys.map((k) => f[k])]
  );
  if (rows.length === 0) throw new HttpError(404, `no subscription ${id}`);
  send(res, 200, rows[0]);
}

async function deleteSubscription(req, res, userId, id) {
  const { rowCount } = await pool.query("DELETE FROM subscriptions WHERE id = $1 AND user_id = $2", [id, userId]);
  if (rowCount === 0) throw new HttpError(404, `no subscription ${id}`);
  send(res, 204);
}

// --- routing -------------------------------------------------------------------

// path -> { METHOD: handler(req, res, params, query) }
const routes = [
  [/^\/health$/, { GET: health, HEAD: health }],
  [/^\/api\/signup$/, { POST: signup }],
  [/^\/api\/signin$/, { POST: signin }],
  [
    /^\/api\/subscriptions$/,
    {
      GET: (req, res, params, query) => listSubscriptions(req, res, authenticate(req), query),
      POST: (req, res) => createSubscription(req, res, authenticate(req)),
    },
  ],
  [
    /^\/api\/subscriptions\/([^/]+)$/,
    {
      GET: (req, res, [id]) => getSubscription(req, res, authenticate(req), subscriptionId(id)),
      PUT: (req, res, [id]) => updateSubscription(req, res, authenticate(req), subscriptionId(id)),
      DELETE: (req, res, [id]) => deleteSubscription(req, res, authenticate(req), subscriptionId(id)),
    },
  ],
];

function subscriptionId(text) {
  if (!/^[1-9]\d{0,15}$/.test(text)) throw new HttpError(404, `no subscription ${text}`);
  return Number(text);
}

function decodeSegment(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new HttpError(400, `malformed URL segment '${text}'`);
  }
}

async function route(req, res) {
  const url = new URL(req.url, "http://localhost");
  for (const [pattern, methods] of routes) {
    const match = pattern.exec(url.pathname);
    if (!match) continue;
    const handler = methods[req.method];
    if (!handler) {
      throw new HttpError(405, `${req.method} is not allowed on ${url.pathname}`, {
        allow: Object.keys(methods).join(", "),
      });
    }
    return handler(req, res, match.slice(1).map(decodeSegment), url.searchParams);
  }
  throw new HttpError(404, `no route for ${req.method} ${url.pathname}`);
}

function logLine(req, res, started) {
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const client = req.headers["x-real-ip"] || req.socket.remoteAddress || "-";
  const pathOnly = req.url.split("?")[0];
  console.log(`${req.method} ${pathOnly} ${res.statusCode} ${ms.toFixed(1)}ms client=${client}`);
}

let inFlight = 0;

const server = http.createServer(async (req, res) => {
  const started = process.hrtime.bigint();
  inFlight += 1;
  res.on("close", () => {
    inFlight -= 1;
    logLine(req, res, started);
    if (shuttingDown) server.closeIdleConnections();
  });
  try {
    await route(req, res);
  } catch (err) {
    if (res.headersSent) {
      res.destroy(err);
      return;
    }
    if (err instanceof HttpError) {
      send(res, err.status, { error: err.message }, err.headers);
    } else if (["22P02", "22003", "22008", "23514"].includes(err.code)) {
      send(res, 400, { error: err.message });
    } else {
      console.error(`${req.method} ${req.url.split("?")[0]}: ${err.stack || err}`);
      send(res, 500, { error: "internal error" });
    }
  }
});

// The proxy keeps connections to us alive; ours must outlive nginx's idle timeout.
server.keepAliveTimeout = 65000;
server.headersTimeout = 66000;

server.listen(PORT, HOST, () => {
  console.log(`subscription-tracker listening on ${HOST}:${PORT} (pid ${process.pid})`);
});

// Graceful shutdown: stop accepting, answer the requests in flight, close the pool.
function shutdown(signal) {
  if (shuttingDown) return;
  shuttingDown = true;
  console.log(`${signal}: shutting down, ${inFlight} request(s) in flight`);
  setTimeout(() => {
    console.error(`shutdown: still ${inFlight} request(s) after ${SHUTDOWN_GRACE_MS} ms, exiting`);
    process.exit(1);
  }, SHUTDOWN_GRACE_MS).unref();
  server.close(async () => {
    await pool.end().catch((err) => console.error(`shutdown: closing the database pool: ${err.message}`));
    console.log("shutdown: done");
    process.exit(0);
  });
  server.closeIdleConnections();
}

process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));
