"""A UDP counter server with one flaw, chosen by name, so that `socklab check udp-counter` fails exactly that
check (see README.md). Usage: broken_udp_server.py PORT FLAW (FLAW 'none': no flaw)."""
import socket
import sys
import threading
import time

port, flaw = int(sys.argv[1]), sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.1', port))
print('listening', s.getsockname()[1], flush=True)
counter = 1000 if flaw == 'unique-increasing' else 0
pending = {}
lock = threading.Lock()


def count():
    global counter
    with lock:
        counter += 1


while True:
    data, addr = s.recvfrom(2048)
    if data.strip() != b'get' and flaw != 'ignores-garbage':
        continue
    with lock:
        if flaw == 'unique-increasing':
            counter -= 1  # counts down: unique, but not increasing
        elif flaw == 'many-ports':
            # The value is read now but counted only later: gets that arrive together share a value.
            threading.Timer(0.05, count).start()
            threading.Timer(0.1, s.sendto, args=(str(counter + 1).encode(), addr)).start()
            continue
        else:
            counter += 1
        value = counter
    if flaw == 'answers-once':
        # One answer per sender at a time: a get that arrives while one is pending replaces it.
        if addr in pending:
            pending[addr] = value
            continue
        pending[addr] = value

        def later(addr=addr):
            time.sleep(0.1)
            s.sendto(str(pending.pop(addr)).encode(), addr)

        threading.Thread(target=later, daemon=True).start()
        continue
    s.sendto(str(value).encode(), addr)
