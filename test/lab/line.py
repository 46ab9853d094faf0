#!/usr/bin/env python3
"""A slow, lossy line between two interfaces of one namespace, in user space (the kernel may
have no sch_netem). Every Ethernet frame that arrives on one side leaves on the other DELAY_MS
later, in arrival order; IPv4 frames are dropped with probability LOSS_PERCENT / 100 (ARP is
spared, so a lost neighbour lookup cannot stall a test for seconds). Stops on SIGTERM, SIGINT or
after LIMIT_S seconds, and prints one JSON line of counts (`left`: frames still on the line then).

usage: line.py IF_A IF_B DELAY_MS LOSS_PERCENT LIMIT_S SEED"""
import collections
import json
import random
import select
import signal
import socket
import sys
import time

ETH_P_ALL = 0x0003
ETHERTYPE_IPV4 = b'\x08\x00'
PACKET_OUTGOING = 4  # sll_pkttype of the frames we sent ourselves
MAX_FRAME = 65536
BUFFER_BYTES = 8 << 20
READS_PER_WAKE = 512  # frames taken from one socket before the queues are served again
IDLE_WAIT_S = 0.5


class Side:
    def __init__(self, name):
        self.name = name
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, BUFFER_BYTES)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, BUFFER_BYTES)
        self.sock.bind((name, 0))
        self.sock.setblocking(False)
        self.outbox = collections.deque()  # (due time, frame) to send out of this side


def main(argv):
    if len(argv) != 7:
        sys.exit(__doc__)
    a, b = Side(argv[1]), Side(argv[2])
    delay = float(argv[3]) / 1000
    loss = float(argv[4]) / 100
    deadline = time.monotonic() + float(argv[5])
    chance = random.Random(int(argv[6]))
    other = {a.sock: b, b.sock: a}
    counts = {'frames': 0, 'dropped': 0, 'sent': 0, 'send_errors': 0}
    stopping = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.append(True))
    print(json.dumps({'ready': True}), flush=True)

    while not stopping and time.monotonic() < deadline:
        due = [side.outbox[0][0] for side in (a, b) if side.outbox]
        wait = min(due) - time.monotonic() if due else IDLE_WAIT_S
        try:
            readable, _, _ = select.select([a.sock, b.sock], [], [], max(0.0, min(wait, IDLE_WAIT_S)))
        except InterruptedError:
            continue
        now = time.monotonic()
        for sock in readable:
            for _ in range(READS_PER_WAKE):
                try:
                    frame, address = sock.recvfrom(MAX_FRAME)
                except BlockingIOError:
                    break
                if address[2] == PACKET_OUTGOING:
                    continue
                counts['frames'] += 1
                if frame[12:14] == ETHERTYPE_IPV4 and chance.random() < loss:
                    counts['dropped'] += 1
                    continue
                other[sock].outbox.append((now + delay, frame))
        now = time.monotonic()
        for side in (a, b):
            while side.outbox and side.outbox[0][0] <= now:
                frame = side.outbox.popleft()[1]
                try:
                    side.sock.send(frame)
                    counts['sent'] += 1
                except OSError:
                    counts['send_errors'] += 1  # a full send buffer is a lost frame, as on a wire
    counts['left'] = len(a.outbox) + len(b.outbox)
    print(json.dumps(counts), flush=True)


if __name__ == '__main__':
    main(sys.argv)
