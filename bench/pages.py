#!/usr/bin/env python3
"""Times the console's pages (standard library only): signs in through the login form as a
browser does (cookies kept by hand), then GETs each page --reps times one after the other on
one keep-alive connection and prints one JSON line: per page its status and the p50 / p95 /
max of the wall time in ms from the request to the last byte (on 127.0.0.1 that is the
server's time plus a few tenths of a millisecond).

  bench/pages.py --url http://127.0.0.1:8080 --user bench --password bench-password \\
      --reps 20 /ui/ /ui/calls '/ui/statistics?range=30d'
"""

import argparse
import http.client
import json
import re
import sys
import time
import urllib.parse


class Browser:
    def __init__(self, url):
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=600)
        self.cookies = {}

    def send(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        headers["Accept"] = "text/html"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            cookie = rest.split(";", 1)[0]
            if "Max-Age=0" in value or not cookie:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = cookie
        return response.status, data

    def sign_in(self, user, password):
        status, page = self.send("GET", "/ui/login")
        if status != 200:
            sys.exit(f"login page: {status}")
        token = re.search(rb'name="_csrf" value="([^"]+)"', page).group(1).decode()
        body = urllib.parse.urlencode({"_csrf": token, "username": user, "password": password})
        status, data = self.send("POST", "/ui/login", body.encode(),
                                 {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 303:
            sys.exit(f"sign-in: {status} {data[:300]!r}")


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", default="http://127.0.0.1:8080")
    p.add_argument("--user", default="bench")
    p.add_argument("--password", default="bench-password")
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--warm", type=int, default=2, help="untimed requests per page first")
    p.add_argument("--dump", help="a folder to write each page's last answer to")
    p.add_argument("paths", nargs="+")
    a = p.parse_args()
    b = Browser(a.url)
    b.sign_in(a.user, a.password)
    pages = {}
    for path in a.paths:
        for _ in range(a.warm):
            b.send("GET", path)
        times, statuses, size = [], set(), 0
        for _ in range(a.reps):
            t0 = time.perf_counter()
            status, body = b.send("GET", path)
            times.append((time.perf_counter() - t0) * 1000)
            statuses.add(status)
            size = len(body)
        pages[path] = {"status": sorted(statuses), "p50_ms": round(percentile(times, 0.5), 1),
                       "p95_ms": round(percentile(times, 0.95), 1),
                       "max_ms": round(max(times), 1), "bytes": size}
        if a.dump:
            name = re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_") or "root"
            with open(f"{a.dump}/{name}.html", "wb") as f:
                f.write(body)
    worst = max(pages.values(), key=lambda v: v["p95_ms"])
    print(json.dumps({"pages": pages, "worst_p95_ms": worst["p95_ms"],
                      "all_ok": all(v["status"] == [200] for v in pages.values())}))


if __name__ == "__main__":
    main()
