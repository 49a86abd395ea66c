// The smallest berth app: answers on $PORT, with a health endpoint for [[health]],
// a WebSocket echo on /ws and server-sent events on /events (to show both pass
// through berth's nginx). Node's standard library only: no npm install needed.
const http = require("http");
const crypto = require("crypto");

const port = Number(process.env.PORT || 3000);
const greeting = process.env.GREETING || "hello";

const server = http.createServer((req, res) => {
  if (req.url === "/healthz") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ status: "ok" }));
    return;
  }
  if (req.url === "/events") {
    // One event now and one a second, until the client goes away.
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    let n = 0;
    const tick = () => res.write(`data: ${greeting} ${n++}\n\n`);
    tick();
    const timer = setInterval(tick, 1000);
    req.on("close", () => clearInterval(timer));
    return;
  }
  res.writeHead(200, { "content-type": "text/plain" });
  res.end(`${greeting}\n`);
});

// WebSocket (RFC 6455), just enough for an echo: each text message comes back as
// "GREETING: message"; on SIGTERM every connection is closed with 1001 (going away).
const sockets = new Set();

function frame(opcode, payload) {
  const size = payload.length;
  const head = size < 126 ? Buffer.from([0x80 | opcode, size])
    : size < 65536 ? Buffer.from([0x80 | opcode, 126, size >> 8, size & 255])
    : Buffer.concat([Buffer.from([0x80 | opcode, 127]), (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(size)); return b; })()]);
  return Buffer.concat([head, payload]);
}

function closeFrame(code) {
  const body = Buffer.alloc(2);
  body.writeUInt16BE(code);
  return frame(0x8, body);
}

server.on("upgrade", (req, socket) => {
  const key = req.headers["sec-websocket-key"];
  if (req.url !== "/ws" || !key) {
    socket.end("HTTP/1.1 400 Bad Request\r\n\r\n");
    return;
  }
  const accept = crypto.createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
  socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
               `Sec-WebSocket-Accept: ${accept}\r\n\r\n`);
  sockets.add(socket);
  let buffer = Buffer.alloc(0);
  socket.on("data", (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      if (buffer.length < 2) return;
      const opcode = buffer[0] & 0x0f;
      const masked = (buffer[1] & 0x80) !== 0;
      let size = buffer[1] & 0x7f;
      let offset = 2;
      if (size === 126) {
        if (buffer.length < 4) return;
        size = buffer.readUInt16BE(2);
        offset = 4;
      } else if (size === 127) {
        if (buffer.length < 10) return;
        size = Number(buffer.readBigUInt64BE(2));
        offset = 10;
      }
      const mask = masked ? buffer.subarray(offset, offset + 4) : null;
      if (masked) offset += 4;
      if (buffer.length < offset + size) return;
      const payload = Buffer.from(buffer.subarray(offset, offset + size));
      buffer = buffer.subarray(offset + size);
      if (mask) for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i % 4];
      if (opcode === 0x1) socket.write(frame(0x1, Buffer.from(`${greeting}: ${payload}`)));
      else if (opcode === 0x9) socket.write(frame(0xa, payload));
      else if (opcode === 0x8) { socket.end(frame(0x8, payload.subarray(0, 2))); return; }
    }
  });
  socket.on("close", () => sockets.delete(socket));
  socket.on("error", () => sockets.delete(socket));
});

const host = process.env.HOST || "127.0.0.1";
server.listen(port, host, () => console.log(`listening on ${host}:${port}`));
process.on("SIGTERM", () => {
  for (const socket of sockets) socket.end(closeFrame(1001));
  server.close(() => process.exit(0));
});
