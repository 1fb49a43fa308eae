#!/usr/bin/env python3
"""A real SMTP server on loopback for the notifier's tests (aiosmtpd from PyPI).

Every message it accepts is written to DIRECTORY as <n>.eml (the raw RFC 5322 text as received).
Prints "listening on PORT" once ready, then serves until killed or until stdin closes.

    scripts/smtp-sink.py DIRECTORY [--port 0] [--reject-first N] [--tls-cert CERT --tls-key KEY]

--reject-first N answers the first N messages' DATA with "451 try again later" (a transient
failure, to test retries). With --tls-cert/--tls-key the server offers STARTTLS.
"""
import argparse
import asyncio
import os
import socket
import ssl
import sys
import threading

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory, reject_first):
        self.directory = directory
        self.reject_left = reject_first
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.reject_left > 0:
                self.reject_left -= 1
                return "451 4.3.0 try again later"
            self.count += 1
            number = self.count
        path = os.path.join(self.directory, f"{number}.eml")
        with open(path + ".tmp", "wb") as f:
            f.write(b"X-Envelope-From: " + envelope.mail_from.encode() + b"\r\n")
            f.write(b"X-Envelope-To: " + ",".join(envelope.rcpt_tos).encode() + b"\r\n")
            f.write(envelope.original_content or envelope.content)
        os.replace(path + ".tmp", path)
        return "250 2.0.0 queued as %d" % number


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("directory")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--reject-first", type=int, default=0)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    args = parser.parse_args()
    os.makedirs(args.directory, exist_ok=True)
    port = args.port or free_port()
    tls = None
    if args.tls_cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(args.tls_cert, args.tls_key)
    controller = Controller(Sink(args.directory, args.reject_first), hostname="127.0.0.1", port=port,
                            tls_context=tls, require_starttls=bool(tls), decode_data=False)
    controller.start()
    print(f"listening on {port}", flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
