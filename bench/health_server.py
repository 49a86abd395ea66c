#!/usr/bin/env python3
"""A tiny HTTP server on 127.0.0.1 for berth's health benchmark and e2e test.

Usage: health_server.py [--tls CERT KEY]   (port 0: the kernel picks one)
Prints its port on stdout, then serves (https with --tls) until killed:
  /delay/MS         waits MS milliseconds, then 200 {"status":"ok","delay_ms":MS}
  /status/CODE      answers CODE with {"status":"..."} ("ok" when CODE < 400)
  /json             200 {"db":"ok","items":[1,2,3],"version":"1.4.2"}
  /flip/N           200 for the first N requests to this path, then 503
  anything else     404
"""
import http.server
import json
import socketserver
import ssl
import sys
import threading
import time

flips = {}
flips_lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, document):
        body = json.dumps(document).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        parts = self.path.strip("/").split("/")
        if len(parts) == 2 and parts[0] == "delay" and parts[1].isdigit():
            time.sleep(int(parts[1]) / 1000)
            self.reply(200, {"status": "ok", "delay_ms": int(parts[1])})
        elif len(parts) == 2 and parts[0] == "status" and parts[1].isdigit():
            code = int(parts[1])
            self.reply(code, {"status": "ok" if code < 400 else "down"})
        elif len(parts) == 2 and parts[0] == "flip" and parts[1].isdigit():
            with flips_lock:
                flips[self.path] = flips.get(self.path, 0) + 1
                count = flips[self.path]
            self.reply(200 if count <= int(parts[1]) else 503, {"request": count})
        elif parts == ["json"]:
            self.reply(200, {"db": "ok", "items": [1, 2, 3], "version": "1.4.2"})
        else:
            self.reply(404, {"error": "not found"})


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 256


def main():
    server = Server(("127.0.0.1", 0), Handler)
    if len(sys.argv) == 4 and sys.argv[1] == "--tls":
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(sys.argv[2], sys.argv[3])
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
