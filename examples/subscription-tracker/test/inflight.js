// Proves graceful shutdown for test/local.sh: starts a request to the instance
// (POST /api/signin: headers, then half the body once the server answered
// 100 Continue), sends the instance SIGTERM, waits
// until the instance refuses new connections, then sends the rest of the body and
// prints the status line of the answer it gets. A request in flight when SIGTERM
// arrives must still be answered.
// usage: node inflight.js PORT PID EMAIL PASSWORD
"use strict";

const net = require("net");

const [port, pid, email, password] = process.argv.slice(2);
const body = JSON.stringify({ email, password });
const half = Math.floor(body.length / 2);

function refusesConnections() {
  return new Promise((resolve) => {
    const probe = net.connect(Number(port), "127.0.0.1");
    probe.on("connect", () => {
      probe.destroy();
      resolve(false);
    });
    probe.on("error", () => resolve(true));
  });
}

async function main() {
  const socket = net.connect(Number(port), "127.0.0.1");
  await new Promise((resolve, reject) => {
    socket.on("connect", resolve);
    socket.on("error", reject);
  });
  let answer = "";
  let onData = () => {};
  socket.on("data", (chunk) => {
    answer += chunk.toString("utf8");
    onData();
  });
  const closed = new Promise((resolve) => socket.on("close", resolve));
  // Expect: 100-continue makes the server say when it holds the request: from then
  // on the request is in flight, deterministically.
  socket.write(
    `POST /api/signin HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
      `Expect: 100-continue\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`
  );
  await new Promise((resolve) => {
    onData = () => answer.includes("\r\n\r\n") && resolve();
    onData();
  });
  console.log(`interim answer: ${answer.split("\r\n")[0]}`);
  answer = "";
  socket.write(body.slice(0, half));
  process.kill(Number(pid), "SIGTERM");
  for (let i = 0; i < 100 && !(await refusesConnections()); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  console.log(`new connections refused: ${await refusesConnections()}`);
  socket.write(body.slice(half));
  await closed;
  const [statusLine] = answer.split("\r\n");
  const connection = /\r\nconnection: (\S+)/i.exec(answer);
  console.log(`in-flight answer: ${statusLine || "(none)"}; connection: ${connection ? connection[1] : "-"}`);
  console.log(`body: ${answer.split("\r\n\r\n")[1] || ""}`);
}

main().catch((err) => {
  console.error(`inflight: ${err.message}`);
  process.exit(1);
});
