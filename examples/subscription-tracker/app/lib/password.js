// Password hashing with scrypt (node's crypto): "scrypt$N$r$p$salt$hash", so the
// cost can be raised later without breaking stored hashes.
"use strict";

const crypto = require("crypto");
const { promisify } = require("util");

const scrypt = promisify(crypto.scrypt);
const COST = { N: 16384, r: 8, p: 1 };
const KEY_LENGTH = 32;

async function hash(password) {
  const salt = crypto.randomBytes(16);
  const key = await scrypt(password, salt, KEY_LENGTH, COST);
  return ["scrypt", COST.N, COST.r, COST.p, salt.toString("base64"), key.toString("base64")].join("$");
}

// True when `password` matches `stored` (a value made by hash()).
async function verify(password, stored) {
  const [kind, N, r, p, salt, key] = String(stored).split("$");
  if (kind !== "scrypt" || !key) return false;
  const expected = Buffer.from(key, "base64");
  const actual = await scrypt(password, Buffer.from(salt, "base64"), expected.length, {
    N: Number(N),
    r: Number(r),
    p: Number(p),
  });
  return crypto.timingSafeEqual(actual, expected);
}

module.exports = { hash, verify };
