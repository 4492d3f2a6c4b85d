#!/usr/bin/env python3
"""A tiny SOCKS5 server (RFC 1928 CONNECT; no auth, or user/password per RFC 1929) for socklab's nc tests.

Usage: socks5_server.py PORT [USER:PASS]. Prints "listening <port>" once bound on 127.0.0.1, and one line
"connect <host> <port>" per tunnel it opens, so a test can see what it was asked for.
"""
import socket
import sys
import threading


def read_exact(conn, count):
    data = b""
    while len(data) < count:
        chunk = conn.recv(count - len(data))
        if not chunk:
            raise ConnectionError("client left")
        data += chunk
    return data


def relay(src, dst):
    try:
        while True:
            chunk = src.recv(65536)
            if not chunk:
                break
            dst.sendall(chunk)
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def serve(conn, credentials):
    try:
        version, count = read_exact(conn, 2)
        methods = read_exact(conn, count)
        wanted = 2 if credentials else 0
        if version != 5 or wanted not in methods:
            conn.sendall(bytes([5, 0xFF]))
            return
        conn.sendall(bytes([5, wanted]))
        if credentials:
            _, ulen = read_exact(conn, 2)
            user = read_exact(conn, ulen).decode()
            (plen,) = read_exact(conn, 1)
            password = read_exact(conn, plen).decode()
            ok = f"{user}:{password}" == credentials
            conn.sendall(bytes([1, 0 if ok else 1]))
            if not ok:
                return
        _, command, _, kind = read_exact(conn, 4)
        if kind == 1:
            host = socket.inet_ntop(socket.AF_INET, read_exact(conn, 4))
        elif kind == 4:
            host = socket.inet_ntop(socket.AF_INET6, read_exact(conn, 16))
        else:
            (length,) = read_exact(conn, 1)
            host = read_exact(conn, length).decode()
        port = int.from_bytes(read_exact(conn, 2), "big")
        if command != 1:
            conn.sendall(bytes([5, 7, 0, 1, 0, 0, 0, 0, 0, 0]))
            return
        try:
            upstream = socket.create_connection((host, port), timeout=5)
        except OSError:
            conn.sendall(bytes([5, 5, 0, 1, 0, 0, 0, 0, 0, 0]))
            return
        print(f"connect {host} {port}", flush=True)
        conn.sendall(bytes([5, 0, 0, 1, 127, 0, 0, 1, 0, 0]))
        upstream.settimeout(None)
        back = threading.Thread(target=relay, args=(upstream, conn), daemon=True)
        back.start()
        relay(conn, upstream)
        back.join()
        upstream.close()
    except (ConnectionError, OSError):
        pass
    finally:
        conn.close()


def main():
    port = int(sys.argv[1])
    credentials = sys.argv[2] if len(sys.argv) > 2 else None
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(16)
    print(f"listening {listener.getsockname()[1]}", flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn, credentials), daemon=True).start()


if __name__ == "__main__":
    main()
