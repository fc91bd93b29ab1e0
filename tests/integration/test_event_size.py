"""No event is lost to its own size: requests whose events are far
longer than a syslog datagram, a collector's message size or the file's
line bound (a 100 KB path, a 30 KB User-Agent, non-ASCII bytes that JSON
escaping inflates) reach every output, shortened field by field, marked
ocspgate.truncated, and still valid JSON; the file and each syslog target
receive the same events. The collectors are real sockets on loopback:
UDP, TCP with octet counting (RFC 6587) and a Unix datagram socket.
"""

import json
import re
import selectors
import socket
import time

from ocspgate_harness import (
    Client, ProxyTestCase, assert_ecs_line, free_port, get, http_request,
    metric_sample, scaled, scrape_metrics)

SYSLOG_RE = re.compile(
    rb"^<(\d+)>1 \S+ \S+ ocspgate \d+ (event|alert|metric) - (\{.*\})$",
    re.S)


def message_json(msg):
    m = SYSLOG_RE.match(msg)
    assert m, msg[:300]
    ev = json.loads(m.group(3))
    assert_ecs_line(m.group(3), ev, "syslog message")
    return m.group(2).decode(), ev


class EventSizeTests(ProxyTestCase):

    RESPONDERS = 0

    def requests(self):
        """(tag, request bytes): small ones and huge ones, each tagged in
        its User-Agent's first bytes (the part that survives a cut)."""
        big_path = "/" + "A" * 100000
        reqs = [
            ("small-1", http_request("GET", "http://other.test/x",
                                     headers=[("User-Agent", "small-1")])),
            ("huge-path", http_request(
                "GET", "http://other.test" + big_path,
                headers=[("User-Agent", "huge-path")])),
            # 0xE9 bytes: not UTF-8, each becomes U+FFFD (3 bytes).
            ("huge-ua", http_request(
                "GET", "http://other.test/y",
                headers=[("User-Agent",
                          b"huge-ua " + b"\xe9" * 30000)])),
            ("huge-both", http_request(
                "GET", "http://other.test" + big_path + "/" + "C" * 50000,
                headers=[("User-Agent",
                          "huge-both " + "B" * 20000)]
                + [("X-Pad-%d" % i, "v" * 100) for i in range(50)])),
            ("small-2", http_request("GET", "http://other.test/z",
                                     headers=[("User-Agent", "small-2")])),
        ]
        return reqs

    def send_all(self, proxy):
        tags = []
        for tag, data in self.requests():
            with Client(proxy.port) as c:
                c.send(data)
                self.assertEqual(c.read_response().status, 403, tag)
            tags.append(tag)
        return tags

    def tag_of(self, ev):
        return (get(ev, "user_agent.original") or "").split(" ")[0]

    def check_events(self, evs, tags, limit, where):
        """Every request once, each line within <limit>, the big ones
        marked, the small ones whole."""
        self.assertEqual(sorted(self.tag_of(e) for e in evs), sorted(tags),
                         where)
        for ev in evs:
            tag = self.tag_of(ev)
            self.assertEqual(get(ev, "event.reason"), "unknown_responder")
            self.assertEqual(get(ev, "source.ip"), "127.0.0.1")
            self.assertEqual(get(ev, "http.response.status_code"), 403)
            if tag.startswith("huge"):
                self.assertIs(get(ev, "ocspgate.truncated"), True,
                              "%s in %s" % (tag, where))
            else:
                self.assertIsNone(get(ev, "ocspgate.truncated"))
                self.assertEqual(get(ev, "user_agent.original"), tag)

    def proxy(self, **kw):
        # Room for a 100 KB request line and 30 KB of headers.
        return self.start_proxy(max_header_bytes=262144, workers=2, **kw)

    def file_lines(self, proxy, n):
        proxy.wait_events(n)
        lines = proxy.event_bytes().splitlines()
        self.assertEqual(len(lines), n)
        return lines

    def test_udp_and_file(self):
        """UDP: each datagram within 65,000 bytes; the file's lines within
        event_log_max_line (64 KiB by default)."""
        rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        rx.bind(("127.0.0.1", 0))
        rx.settimeout(scaled(5))
        self.addCleanup(rx.close)
        admin = free_port()
        proxy = self.proxy(
            event_syslog="udp://127.0.0.1:%d" % rx.getsockname()[1],
            admin_listen="127.0.0.1:%d" % admin)
        tags = self.send_all(proxy)
        msgs = [rx.recv(131072) for _ in tags]
        for m in msgs:
            self.assertLessEqual(len(m), 65000)
        got = [message_json(m)[1] for m in msgs]
        self.check_events(got, tags, 65000, "udp")
        lines = self.file_lines(proxy, len(tags))
        for line in lines:
            self.assertLessEqual(len(line) + 1, 65536)
        self.check_events(proxy.events(), tags, 65536, "file")
        m = scrape_metrics(admin)
        for output in ("file", "syslog"):
            self.assertEqual(metric_sample(m, "ocspgate_events_dropped_total",
                                           output=output), 0, output)

    def test_tcp_small_messages(self):
        """TCP with event_syslog_max_message = 4096 and a file bound of
        8 KiB: every frame within 4,096 bytes, every line within 8 KiB."""
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        self.addCleanup(srv.close)
        proxy = self.proxy(
            event_syslog="tcp://127.0.0.1:%d" % srv.getsockname()[1],
            event_syslog_max_message=4096, event_log_max_line=8192)
        tags = self.send_all(proxy)
        msgs = self.read_frames(srv, len(tags))
        for m in msgs:
            self.assertLessEqual(len(m), 4096)
        self.check_events([message_json(m)[1] for m in msgs], tags, 4096,
                          "tcp")
        for line in self.file_lines(proxy, len(tags)):
            self.assertLessEqual(len(line) + 1, 8192)
        self.check_events(proxy.events(), tags, 8192, "file")

    def read_frames(self, srv, n):
        sel = selectors.DefaultSelector()
        self.addCleanup(sel.close)
        sel.register(srv, selectors.EVENT_READ)
        bufs, msgs = {}, []
        deadline = time.monotonic() + scaled(10)
        while len(msgs) < n and time.monotonic() < deadline:
            for key, _ in sel.select(0.2):
                if key.fileobj is srv:
                    conn, _ = srv.accept()
                    self.addCleanup(conn.close)
                    bufs[conn] = b""
                    sel.register(conn, selectors.EVENT_READ)
                    continue
                chunk = key.fileobj.recv(65536)
                if not chunk:
                    sel.unregister(key.fileobj)
                    continue
                buf = bufs[key.fileobj] + chunk
                while True:
                    m = re.match(rb"^(\d+) ", buf)
                    if not m or len(buf) < m.end() + int(m.group(1)):
                        break
                    k = int(m.group(1))
                    msgs.append(buf[m.end():m.end() + k])
                    buf = buf[m.end() + k:]
                bufs[key.fileobj] = buf
        self.assertEqual(len(msgs), n)
        self.assertEqual(set(bufs.values()), {b""})
        return msgs

    def test_unix_datagram(self):
        """A Unix datagram socket (as /dev/log) with messages of at most
        2,048 bytes, the smallest RFC 5424 asks every receiver to take."""
        path = str(self.tmp / "log.sock")
        rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        rx.bind(path)
        rx.settimeout(scaled(5))
        self.addCleanup(rx.close)
        proxy = self.proxy(event_syslog="unix://" + path,
                           event_syslog_max_message=2048)
        tags = self.send_all(proxy)
        msgs = [rx.recv(65536) for _ in tags]
        for m in msgs:
            self.assertLessEqual(len(m), 2048)
        self.check_events([message_json(m)[1] for m in msgs], tags, 2048,
                          "unix")
        self.check_events(proxy.events(), tags, 65536, "file")
