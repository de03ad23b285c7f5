#!/usr/bin/python3
"""registry.py - the image tests' registry: Debian's docker-registry (the
reference distribution registry) on loopback, configured for token
authentication, behind a small server of the test's own that

  - is the token server: GET /token?service=..&scope=.. checks Basic
    credentials (USER:PASSWORD) and answers a JWT signed RS256 with a key
    whose certificate the registry trusts (header x5c), granting what the
    scopes ask;
  - proxies everything else to the registry, and on request misbehaves
    while serving a blob: --drop closes the connection halfway through the
    first blob larger than 64 KiB (once per blob), --stall sends half of
    such a blob then waits until the file STALL_FILE disappears.

Every blob request is logged to LOG ("GET <digest> range=<Range>"), every
drop or stall too ("DROP <digest> <bytes>", "STALL <digest> <bytes>").

usage: registry.py DIR USER PASSWORD [--drop] [--stall STALL_FILE]
(USER "-": anonymous requests get tokens too, as from Docker Hub's public
repositories; USER:PASSWORD still works for pushing)
Writes "PORT" (the proxy's, which clients use) to DIR/port once the
registry answers; runs until SIGTERM.
"""
import base64
import http.client
import http.server
import json
import os
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time

DIR, USER, PASSWORD = sys.argv[1], sys.argv[2], sys.argv[3]
DROP = "--drop" in sys.argv
STALL = sys.argv[sys.argv.index("--stall") + 1] if "--stall" in sys.argv else None
LOG = os.path.join(DIR, "log")
SERVICE, ISSUER = "plait-test", "plait-test-issuer"
lock = threading.Lock()
misbehaved = set()


def log(line):
    with lock, open(LOG, "a") as f:
        f.write(line + "\n")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def sign(data):
    return subprocess.run(["openssl", "dgst", "-sha256", "-sign", os.path.join(DIR, "key.pem")],
                          input=data, stdout=subprocess.PIPE, check=True).stdout


def token(scopes):
    with open(os.path.join(DIR, "cert.der"), "rb") as f:
        der = f.read()
    header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode()]}
    now = int(time.time())
    access = []
    for s in scopes:
        parts = s.split(":")
        if len(parts) >= 3:
            access.append({"type": parts[0], "name": ":".join(parts[1:-1]),
                           "actions": parts[-1].split(",")})
    claims = {"iss": ISSUER, "sub": USER if USER != "-" else "anonymous", "aud": SERVICE, "exp": now + 600, "nbf": now - 60,
              "iat": now, "jti": str(time.time_ns()), "access": access}
    signing = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    return signing + "." + b64url(sign(signing.encode()))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_token(self):
        from urllib.parse import parse_qs, urlparse
        q = parse_qs(urlparse(self.path).query)
        want = "Basic " + base64.b64encode(("%s:%s" % (USER, PASSWORD)).encode()).decode()
        anonymous_ok = USER == "-" and not self.headers.get("Authorization")
        if self.headers.get("Authorization") != want and not anonymous_ok:
            log("TOKEN refused")
            body = b'{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}'
            self.send_response(401)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("WWW-Authenticate", 'Basic realm="plait-test"')
            self.end_headers()
            self.wfile.write(body)
            return
        body = json.dumps({"token": token(q.get("scope", [])), "expires_in": 600}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def proxy(self):
        if self.path.startswith("/token"):
            return self.do_token()
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            body = b"".join(chunks)
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("transfer-encoding", "connection", "content-length")}
        if body is not None:
            headers["Content-Length"] = str(len(body))
        blob = "/blobs/sha256:" in self.path and self.command == "GET"
        digest = self.path.rsplit("/", 1)[-1] if blob else None
        if blob:
            log("GET %s range=%s" % (digest, self.headers.get("Range", "-")))
        c = http.client.HTTPConnection("127.0.0.1", REGISTRY_PORT, timeout=60)
        c.request(self.command, self.path, body=body, headers=headers)
        r = c.getresponse()
        data = r.read()
        c.close()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command == "HEAD":
            return
        bad = blob and r.status in (200, 206) and len(data) > 65536 and digest not in misbehaved
        if bad and (DROP or STALL):
            with lock:
                misbehaved.add(digest)
            half = len(data) // 2
            self.wfile.write(data[:half])
            self.wfile.flush()
            if STALL:
                log("STALL %s %d" % (digest, half))
                deadline = time.time() + 120
                while os.path.exists(STALL) and time.time() < deadline:
                    time.sleep(0.05)
            else:
                log("DROP %s %d" % (digest, half))
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.wfile.write(data)

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = proxy


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def main():
    global REGISTRY_PORT
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=plait-test-token", "-keyout", os.path.join(DIR, "key.pem"),
                    "-out", os.path.join(DIR, "cert.pem")], check=True, stderr=subprocess.DEVNULL)
    subprocess.run(["openssl", "x509", "-in", os.path.join(DIR, "cert.pem"), "-outform", "DER",
                    "-out", os.path.join(DIR, "cert.der")], check=True)
    REGISTRY_PORT = free_port()
    server = Server(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    cfg = os.path.join(DIR, "config.yml")
    with open(cfg, "w") as f:
        f.write("""version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:%d
  secret: plait-test-secret
auth:
  token:
    realm: http://127.0.0.1:%d/token
    service: %s
    issuer: %s
    rootcertbundle: %s/cert.pem
""" % (DIR, REGISTRY_PORT, port, SERVICE, ISSUER, DIR))
    reg = subprocess.Popen(["/usr/bin/docker-registry", "serve", cfg],
                           stdout=open(os.path.join(DIR, "registry.log"), "w"), stderr=subprocess.STDOUT)

    def stop(*a):
        reg.terminate()
        try:
            reg.wait(10)
        except subprocess.TimeoutExpired:
            reg.kill()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    deadline = time.time() + 30
    while True:
        try:
            c = http.client.HTTPConnection("127.0.0.1", REGISTRY_PORT, timeout=2)
            c.request("GET", "/v2/")
            if c.getresponse().status == 401:
                break
        except OSError:
            pass
        if time.time() > deadline or reg.poll() is not None:
            sys.stderr.write("registry.py: docker-registry did not start (see %s/registry.log)\n" % DIR)
            stop()
        time.sleep(0.05)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with open(os.path.join(DIR, "port.tmp"), "w") as f:
        f.write("%d\n" % port)
    os.rename(os.path.join(DIR, "port.tmp"), os.path.join(DIR, "port"))
    while reg.poll() is None:
        time.sleep(0.2)
    sys.stderr.write("registry.py: docker-registry exited\n")
    os._exit(1)


if __name__ == "__main__":
    main()
