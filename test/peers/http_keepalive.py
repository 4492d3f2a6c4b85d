"""An HTTP/1.1 keep-alive server from Python's standard library, for `socklab bench --reply-framing http`.

GET / answers 200 with its headers first and the body 20 ms later (two writes, as many real servers send
them): a client that takes the first segment for the reply measures 20 ms too little. GET /chunked answers
with a chunked body; anything else gets send_error's 404. Prints `listening <port>` when ready.
"""
import http.server
import sys
import time


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def do_GET(self):
        if self.path == '/':
            body = b'hello from http.server\n'
            self.send_response(200)
            self.send_header('Content-Type', 'text/plain')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.flush()
            time.sleep(0.02)
            self.wfile.write(body)
        elif self.path == '/chunked':
            self.send_response(200)
            self.send_header('Transfer-Encoding', 'chunked')
            self.end_headers()
            for part in (b'hello ', b'chunked ', b'world\n'):
                self.wfile.write(b'%x\r\n%s\r\n' % (len(part), part))
            self.wfile.write(b'0\r\n\r\n')
        else:
            self.send_error(404)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1]) if len(sys.argv) > 1 else 0), Handler)
print('listening', server.server_address[1], flush=True)
server.serve_forever()
