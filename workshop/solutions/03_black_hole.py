"""Solution to chapter 3, exercise 2: a black hole on your own machine, to probe.

A listener that never accepts, with the smallest accept queue (backlog 0), filled by one connection it makes to
itself. Linux drops every further SYN to a full queue without answering, so a client's connect meets silence,
as it would with a host that drops packets: no reset, no error, only its timeout.
Run: python3 workshop/solutions/03_black_hole.py [port] [seconds]
"""
import socket
import sys
import time

port = int(sys.argv[1]) if len(sys.argv) > 1 else 12345
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 600

listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(('127.0.0.1', port))
listener.listen(0)  # never accept(): the kernel completes at most one handshake and parks it in the queue
filler = socket.create_connection(listener.getsockname())  # that one: the queue is full from now on
print('listening on 127.0.0.1:%d (accept queue full: new SYNs get no answer)' % listener.getsockname()[1], flush=True)
time.sleep(seconds)
