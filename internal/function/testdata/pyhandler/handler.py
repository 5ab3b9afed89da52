"""A custom handler in Python used by the function host's tests.

HTTP-triggered functions arrive as forwarded requests (enableForwardingHttpRequest);
other triggers arrive as {Data, Metadata} invocation requests.
"""
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        sys.stderr.write("pyhandler: " + fmt % args + "\n")

    def send(self, status, body, content_type):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Handler", "python")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlparse(self.path)
        if url.path == "/api/pyhello":
            name = parse_qs(url.query).get("name", ["nobody"])[0]
            self.send(200, "hello %s from python" % name, "text/plain")
        else:
            self.send(404, "not here: " + url.path, "text/plain")

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode()
        url = urlparse(self.path)
        if url.path == "/api/pyhello":
            self.send(200, "posted " + body, "text/plain")
        elif url.path == "/pyevent":
            req = json.loads(body)
            event = req["Data"]["event"]
            out = {"Logs": ["python saw " + event["eventType"]], "ReturnValue": event["data"]}
            self.send(200, json.dumps(out), "application/json")
        else:
            self.send(404, "not here: " + url.path, "text/plain")


ThreadingHTTPServer(("127.0.0.1", int(os.environ["FUNCTIONS_CUSTOMHANDLER_PORT"])), Handler).serve_forever()
