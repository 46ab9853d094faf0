"""
Runs a command with its stderr on a new pseudo-terminal of a given size, and copies every byte
the program writes to that terminal to our stdout, as it comes. The command's stdin and stdout
are /dev/null: it sees a terminal only where a person would watch its messages.

    python3 pty.py COLUMNS ROWS COMMAND [ARG...]

Exits with the command's exit status. On SIGTERM it kills the command first, so a test that
gives up leaves nothing running.
"""
import fcntl
import os
import signal
import struct
import subprocess
import sys
import termios

columns, rows = int(sys.argv[1]), int(sys.argv[2])
master, slave = os.openpty()
# struct winsize: rows, columns, then two pixel sizes nobody reads.
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack('HHHH', rows, columns, 0, 0))
child = subprocess.Popen(sys.argv[3:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave)
os.close(slave)


def stop(signum, frame):
    child.kill()
    child.wait()
    sys.exit(128 + signum)


signal.signal(signal.SIGTERM, stop)

out = sys.stdout.buffer
while True:
    try:
        data = os.read(master, 65536)
    except OSError:
        # EIO: the command and everything it started closed the terminal.
        break
    if not data:
        break
    out.write(data)
    out.flush()
sys.exit(child.wait())
