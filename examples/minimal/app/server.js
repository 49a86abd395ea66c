// The smallest berth app: answers on $PORT, with a health endpoint for [[health]].
const http = require("http");

const port = Number(process.env.PORT || 3000);
const greeting = process.env.GREETING || "hello";

const server = http.createServer((req, res) => {
  if (req.url === "/healthz") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ status: "ok" }));
    return;
  }
  res.writeHead(200, { "content-type": "text/plain" });
  res.end(`${greeting}\n`);
});

const host = process.env.HOST || "127.0.0.1";
server.listen(port, host, () => console.log(`listening on ${host}:${port}`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
