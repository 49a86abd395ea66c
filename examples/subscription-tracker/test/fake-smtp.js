// A throwaway SMTP server for test/local.sh: listens on 127.0.0.1 (a free port,
// written to PORT_FILE), accepts AUTH PLAIN and every message, and writes each
// message to OUT_DIR/N.eml. No TLS: it is only ever reached over loopback.
"use strict";

const fs = require("fs");
const net = require("net");
const path = require("path");

const [portFile, outDir] = process.argv.slice(2);
if (!portFile || !outDir) {
  console.error("usage: node fake-smtp.js PORT_FILE OUT_DIR");
  process.exit(2);
}
let count = 0;

const server = net.createServer((socket) => {
  let buffer = "";
  let inData = false;
  let message = [];
  let envelope = {};
  const reply = (line) => socket.write(`${line}\r\n`);
  reply("220 fake-smtp ready");
  socket.on("data", (chunk) => {
    buffer += chunk.toString("utf8");
    let i;
    while ((i = buffer.indexOf("\r\n")) >= 0) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 2);
      if (inData) {
        if (line === ".") {
          inData = false;
          count += 1;
          const head = `X-Envelope-From: ${envelope.from}\r\nX-Envelope-To: ${envelope.to}\r\nX-Auth: ${envelope.auth || "none"}\r\n`;
          fs.writeFileSync(path.join(outDir, `${count}.eml`), head + message.join("\r\n") + "\r\n");
          message = [];
          reply(`250 queued as ${count}`);
        } else {
          message.push(line.startsWith("..") ? line.slice(1) : line);
        }
        continue;
      }
      const verb = line.split(" ")[0].toUpperCase();
      if (verb === "EHLO") {
        reply("250-fake-smtp");
        reply("250-AUTH PLAIN");
        reply("250 8BITMIME");
      } else if (verb === "HELO") {
        reply("250 fake-smtp");
      } else if (verb === "AUTH") {
        const user = Buffer.from(line.split(" ")[2] || "", "base64").toString("utf8").split("\0")[1];
        envelope.auth = user;
        reply("235 authenticated");
      } else if (verb === "MAIL") {
        envelope = { auth: envelope.auth, from: line.slice(10) };
        reply("250 ok");
      } else if (verb === "RCPT") {
        envelope.to = line.slice(8);
        reply("250 ok");
      } else if (verb === "DATA") {
        inData = true;
        reply("354 end with .");
      } else if (verb === "RSET" || verb === "NOOP") {
        reply("250 ok");
      } else if (verb === "QUIT") {
        reply("221 bye");
        socket.end();
      } else {
        reply("502 not implemented");
      }
    }
  });
  socket.on("error", () => {});
});

server.listen(0, "127.0.0.1", () => fs.writeFileSync(portFile, String(server.address().port)));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
