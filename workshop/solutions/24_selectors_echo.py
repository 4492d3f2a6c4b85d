"""Solution to chapter 24, exercise 2: an echo server on one thread with the selectors module (epoll on Linux),
the readiness loop that asyncio runs under the hood, written out by hand.
Graded by: npx socklab check echo 12345     Run: python3 workshop/solutions/24_selectors_echo.py [port]"""
import selectors
import socket
import sys

HIGH_WATER = 64 * 1024  # bytes waiting to be sent to one client before we stop reading from it
sel = selectors.DefaultSelector()
listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(('127.0.0.1', int(sys.argv[1]) if len(sys.argv) > 1 else 12345))
listener.listen(128)
listener.setblocking(False)  # accept() then fails with BlockingIOError (EAGAIN) instead of waiting
sel.register(listener, selectors.EVENT_READ, None)
print('listening on 127.0.0.1:%d' % listener.getsockname()[1], flush=True)


class Client:
    def __init__(self, sock):
        self.sock = sock
        self.out = bytearray()  # what the kernel's send buffer could not take yet
        self.eof = False  # the client sent FIN: flush, then close

    def interest(self):
        events = 0 if self.eof or len(self.out) >= HIGH_WATER else selectors.EVENT_READ
        if self.out:
            events |= selectors.EVENT_WRITE
        return events

    def update(self):
        events = self.interest()
        if events == 0:  # nothing to read and nothing to send: the session is over
            sel.unregister(self.sock)
            self.sock.close()
        else:
            sel.modify(self.sock, events, self)


def on_readable(client):
    try:
        data = client.sock.recv(65536)
    except BlockingIOError:  # EAGAIN: woken for nothing; wait for the next turn
        return
    except ConnectionError:
        data = b''
    if data:
        client.out += data
    else:
        client.eof = True  # recv() returned 0 bytes: FIN


def on_writable(client):
    try:
        sent = client.sock.send(client.out)  # may take only part: the rest waits for the next EVENT_WRITE
    except BlockingIOError:
        return
    except ConnectionError:
        client.out.clear()
        client.eof = True
        return
    del client.out[:sent]


def serve():
    while True:
        for key, events in sel.select():
            if key.data is None:  # the listener is readable: a connection is waiting in the accept queue
                try:
                    sock, _ = listener.accept()
                except BlockingIOError:
                    continue
                sock.setblocking(False)
                sel.register(sock, selectors.EVENT_READ, Client(sock))
                continue
            client = key.data
            if events & selectors.EVENT_READ:
                on_readable(client)
            if events & selectors.EVENT_WRITE or client.out:
                on_writable(client)
            client.update()


try:
    serve()
except KeyboardInterrupt:  # Ctrl-C: end quietly, no traceback
    pass
