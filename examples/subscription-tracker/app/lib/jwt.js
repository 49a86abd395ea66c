// JSON Web Tokens, HS256 only, with node's crypto: enough for this API and no
// dependency. verify() accepts only tokens this module could have signed.
"use strict";

const crypto = require("crypto");

const HEADER = base64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));

function base64url(data) {
  return Buffer.from(data).toString("base64url");
}

function signature(input, secret) {
  return crypto.createHmac("sha256", secret).update(input).digest("base64url");
}

// A token carrying `claims` plus iat and exp (now + ttlSeconds).
function sign(claims, secret, ttlSeconds) {
  const now = Math.floor(Date.now() / 1000);
  const payload = base64url(JSON.stringify({ ...claims, iat: now, exp: now + ttlSeconds }));
  const input = `${HEADER}.${payload}`;
  return `${input}.${signature(input, secret)}`;
}

// The claims of `token`, or null when it is malformed, not HS256, signed with
// another secret, or expired.
function verify(token, secret) {
  const parts = typeof token === "string" ? token.split(".") : [];
  if (parts.length !== 3 || parts[0] !== HEADER) return null;
  const expected = Buffer.from(signature(`${parts[0]}.${parts[1]}`, secret));
  const given = Buffer.from(parts[2]);
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) return null;
  let claims;
  try {
    claims = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
  } catch {
    return null;
  }
  if (typeof claims !== "object" || claims === null) return null;
  if (typeof claims.exp !== "number" || claims.exp <= Math.floor(Date.now() / 1000)) return null;
  return claims;
}

module.exports = { sign, verify };
