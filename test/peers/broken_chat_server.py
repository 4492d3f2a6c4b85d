"""A chat server (a thread per client, the first line is the name) with one flaw, chosen by name, so that
`socklab check chat` fails exactly that check (see README.md). Usage: broken_chat_server.py PORT FLAW (FLAW 'none':
no flaw). Without a flaw each member has its own output queue and writer thread, so a member that never reads
only fills its own queue, and is dropped once that holds more than MAX_QUEUED bytes."""
import queue
import socket
import sys
import threading

sys.dont_write_bytecode = True  # importing the shared module must leave no __pycache__ in the tree
from _threads import serve_forever  # noqa: E402

port, flaw = int(sys.argv[1]), sys.argv[2]
MAX_LINE = 64 * 1024
MAX_QUEUED = 32 * 1024 * 1024  # far above what a reading member lags behind by (the check sends 8 MiB)
ROOM_SLOTS = 5  # the 'many-clients' flaw: a room of fixed size that forgets whoever joins when it is full
room = {}  # socket -> Member
room_lock = threading.Lock()


class Member:
    def __init__(self, conn):
        self.conn = conn
        self.lock = threading.Lock()
        self.queue = queue.Queue()
        self.queued = 0
        if flaw != 'slow-reader':
            threading.Thread(target=self.write_loop, daemon=True).start()

    def send(self, data):
        if flaw == 'slow-reader':
            with self.lock:
                self.conn.sendall(data)  # blocks the sender's thread while this member does not read
            return
        with self.lock:
            self.queued += len(data)
            if self.queued > MAX_QUEUED:
                self.conn.shutdown(socket.SHUT_RDWR)  # it stopped reading: drop it, not the room
                return
        self.queue.put(data)

    def write_loop(self):
        failed = False
        while True:
            data = self.queue.get()
            if data is None:
                self.conn.close()  # only this thread closes: no other thread can be using the socket then
                return
            try:
                if not failed:
                    self.conn.sendall(data)
            except OSError:
                failed = True
            with self.lock:
                self.queued -= len(data)

    def close(self):
        if flaw == 'slow-reader':
            with self.lock:
                self.conn.close()
        else:
            self.queue.put(None)  # after what is queued: a refusal still goes out


def broadcast(sender, data):
    with room_lock:
        members = list(room.values())
    for member in members:
        if member.conn is sender and flaw != 'relays':  # 'relays': echoes each line to its sender too
            continue
        try:
            member.send(data)
        except OSError:
            pass


def serve(conn, me):
    if flaw != 'greets':
        me.send(b'welcome! your name?\n')
    name = None
    pending = b''
    while True:
        data = conn.recv(65536)
        if not data:
            if flaw == 'half-close':
                return False  # leaves the room but never closes: the client waits for our FIN for ever
            break
        pending += data
        if flaw == 'split-read' and name is not None:
            lines, pending = [data.rstrip(b'\n')], b'' if b'\n' in data else pending  # each read is one line
        else:
            lines = pending.split(b'\n')
            pending = lines.pop()
        if flaw == 'two-in-one' and len(lines) > 1 and name is not None:
            lines = [b' '.join(lines)]  # the lines of one read go out as one
        for line in lines:
            text = line.strip()
            if name is None:
                name = text.decode('latin1')
                with room_lock:
                    if flaw != 'many-clients' or len(room) < ROOM_SLOTS:
                        room[conn] = me
                me.send(f'hello {name}\n'.encode())
                broadcast(conn, f'* {name} joined\n'.encode())
            elif text == b'quit':
                if flaw == 'quit':
                    with room_lock:
                        for other in room:
                            other.shutdown(socket.SHUT_RDWR)  # ends every session, not just this one
                return True
            else:
                broadcast(conn, b'[' + name.encode('latin1') + b'] ' + text + b'\n')
        if len(pending) > MAX_LINE and flaw != 'long-line':
            me.send(b'line too long\n')
            break
    return True


def run(conn):
    me = Member(conn)
    close = True
    try:
        close = serve(conn, me)
    except OSError:
        pass
    finally:
        with room_lock:
            room.pop(conn, None)
        if close:
            me.close()


serve_forever(port, run)
