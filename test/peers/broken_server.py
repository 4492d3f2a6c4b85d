"""A concurrent line server (a thread per client) with one flaw, chosen by name, so that `socklab check
concurrent` fails exactly that check (see README.md). Usage: broken_server.py PORT FLAW (FLAW 'none': no flaw)."""
import socket
import sys
import threading

sys.dont_write_bytecode = True  # importing the shared module must leave no __pycache__ in the tree
from _threads import serve_forever  # noqa: E402

port, flaw = int(sys.argv[1]), sys.argv[2]
MAX_LINE = 64 * 1024
clients = set()
served = threading.Semaphore(5 if flaw == 'many-clients' else 1000)  # five at once; the others wait their turn


def serve(conn):
    with served:
        if flaw != 'greets':
            conn.sendall(b'hello\n')
        pending = b''
        while True:
            data = conn.recv(65536)
            if not data:
                if flaw == 'half-close':
                    threading.Event().wait()  # never closes: the client waits for our FIN for ever
                for line in pending.split(b'\n')[:-1]:
                    conn.sendall(b'got message\n')
                break
            if flaw == 'split-read' and b'\n' not in data and len(data) < 16:
                conn.sendall(b'got message\n')  # takes a short read without a newline for a message
                continue
            pending += data
            lines = pending.split(b'\n')
            pending = lines.pop()
            if flaw == 'two-in-one' and len(lines) > 1:
                pending = b'\n'.join(lines[1:]) + b'\n' + pending  # answered only at the next read, or at EOF
                lines = lines[:1]
            for line in lines:
                if line.strip() == b'quit':
                    conn.sendall(b'bye\n')
                    if flaw == 'quit':
                        for other in list(clients):
                            other.shutdown(socket.SHUT_RDWR)  # ends every session, not just this one
                    conn.close()
                    return
                conn.sendall(b'got message' if flaw == 'answers' else b'got message\n')
            if len(pending) > MAX_LINE and flaw != 'long-line':
                conn.sendall(b'line too long\n')
                break
        conn.close()


def run(conn):
    clients.add(conn)
    try:
        serve(conn)
    except OSError:
        conn.close()
    finally:
        clients.discard(conn)


serve_forever(port, run)
