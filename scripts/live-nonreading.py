#!/usr/bin/env python3
"""What clients that never read cost a coordinator: opens N connections and reports the
coordinator's resident memory 5 s and 17 s later (after the live feed's 10 s send timeout).

    scripts/live-nonreading.py PORT COORDINATOR_PID EVENT_ID N ws|idle

ws: each connection opens the event's live seat feed (WebSocket) and never reads;
idle: each connection sends nothing. Raise `ulimit -n` above N first, and start the
coordinator with `--live-feeds-per-address` above N (all clients share one address).
"""
import base64
import os
import socket
import sys
import time

port, pid, event, n, mode = (int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]),
                             int(sys.argv[4]), sys.argv[5])


def rss_kib():
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])


base = rss_kib()
sockets = []
for _ in range(n):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    if mode == "ws":
        key = base64.b64encode(os.urandom(16)).decode()
        s.sendall((f"GET /v1/events/{event}/live HTTP/1.1\r\nHost: bench\r\n"
                   "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    sockets.append(s)
time.sleep(5)
after5 = rss_kib() - base
time.sleep(12)
after17 = rss_kib() - base
print(f"{mode}: {n} clients: coordinator +{after5} KiB after 5 s ({after5 / n:.1f} KiB each), "
      f"+{after17} KiB after 17 s ({after17 / n:.1f} KiB each)")
