"""A stand-in webmail front end for the native HTTP probe: python's own http.server,
answering every GET with the status it was given, over TLS when given a certificate.

    python -m stubs.webfront PORT [--status 200] [--cert CERT --key KEY]
"""

from __future__ import annotations

import argparse
import http.server
import ssl
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port", type=int)
    parser.add_argument("--status", type=int, default=200)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    args = parser.parse_args(argv)
    status: int = args.status

    class Front(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<html><body>webmail</body></html>\n"
            self.send_response(status)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *values: object) -> None:
            sys.stderr.write(f"webfront: {format % values}\n")

    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Front)
    if args.cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print(f"webfront listening on 127.0.0.1:{args.port}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
