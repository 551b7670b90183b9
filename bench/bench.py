#!/usr/bin/env python3
"""HTTP driver and data generators for bench/run.sh (standard library only).

Every subcommand talks to a running `callcsv serve` at --url, logs in as the bootstrap
administrator, and prints one JSON line (or writes files) for run.sh to read.

  setup      brand, client, carrier, two rating plans (cost and price) of --prefixes
             rows, their rating profiles; writes --state (a JSON file of ids)
  calls      writes --count outbound calls as the CSV POST /billable_calls takes, all in
             the month before the current one (UTC), all ratable against the plans
  ingest     POSTs a CSV file as one text/csv request; prints seconds and the summary
  stream     GET /billable_calls with Accept: text/csv into nothing; prints seconds, bytes
             (--before: only the calls before that time)
  scheduler  creates a brand-level monthly scheduler due at the start of this month
  rerun      sets a scheduler's nextExecution back to the start of this month
  wait-report  waits until a scheduler has --count ready reports; prints the newest
  schedulers creates --count schedulers with --threads parallel connections (--email: each
             mails its report there)
  backlog    creates --count cron schedulers firing every 15 minutes, each with a catch-up of
             --occurrences runs (at most CALLCSV_MAX_CATCH_UP): a queue of count × occurrences
  relay      an SMTP relay on --port for the stall benchmark: --mode ok answers 250 to each
             message; --mode stall takes the message and never answers (until killed)
  stats-setup  after setup: more clients, carriers and the first client's endpoints, for the
             10 000 000-call statistics brand; adds their ids to --state
  operator   a brand operator "bench-operator" (password as "bench") of the --state brand (its
             zone set to Europe/Madrid), for
             the console's pages; prints one of the brand's call ids as {"call": …}
  stats-queries  times each GET of --paths (a file, one path a line) --count times after
             --warmup untimed ones; prints the median and p95 per path in ms
  readers    --count slow readers of the CSV stream (raw sockets, small receive buffers,
             --rate bytes/s each, for --seconds) while a prober times other requests;
             samples the service's RSS (--pid) from /proc; prints one JSON line
"""

import argparse
import csv
import datetime as dt
import http.client
import io
import json
import math
import os
import random
import socket
import statistics
import sys
import threading
import time
import urllib.parse

USER = "bench"
PASSWORD = "bench-password"


class Api:
    """One keep-alive HTTP/1.1 connection with the bearer token."""

    def __init__(self, url, token=None):
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=3600)
        self.token = token or self.login()

    def login(self):
        status, body = self.request(
            "POST", "/auth/login", {"username": USER, "password": PASSWORD}, auth=False
        )
        if status != 200:
            sys.exit(f"login: {status} {body}")
        return json.loads(body)["token"]

    def request(self, method, path, body=None, content_type="application/json",
                accept="application/json", auth=True):
        headers = {"Accept": accept}
        if auth:
            headers["Authorization"] = f"Bearer {self.token}"
        if body is not None:
            if not isinstance(body, (bytes, bytearray)):
                body = json.dumps(body).encode()
            headers["Content-Type"] = content_type
        for attempt in range(3):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                return response.status, response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                if attempt == 2:
                    raise
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=3600)
        raise AssertionError("unreachable")

    def ok(self, method, path, body=None, expect=(200, 201), **kw):
        status, data = self.request(method, path, body, **kw)
        if status not in expect:
            sys.exit(f"{method} {path}: {status} {data[:500]!r}")
        return json.loads(data) if data else None


def month_start(months_back=0):
    """Midnight UTC at the start of this month, or of `months_back` months before it."""
    now = dt.datetime.now(dt.timezone.utc)
    y, m = now.year, now.month - months_back
    while m < 1:
        y, m = y - 1, m + 12
    return dt.datetime(y, m, 1, tzinfo=dt.timezone.utc)


def rfc3339(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def prefixes(count, seed):
    """`count` distinct prefixes of 2-6 digits, some nested (as in real tables)."""
    rnd = random.Random(seed)
    seen = set()
    out = []
    while len(out) < count:
        p = str(rnd.randint(1, 9)) + "".join(str(rnd.randint(0, 9)) for _ in range(rnd.randint(1, 5)))
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out


def rates_csv(count, seed, scale):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["prefix", "destinationName", "rate", "rateUnit", "rateIncrement"])
    rnd = random.Random(seed)
    for i, p in enumerate(prefixes(count, 1)):
        rate = rnd.randint(1, 5000) * scale
        w.writerow([p, f"Destination {i}", f"{rate / 10000:.4f}", 60, rnd.choice([1, 1, 1, 60])])
    return buf.getvalue().encode()


def cmd_setup(a):
    api = Api(a.url)
    name = a.name or f"bench-{random.randrange(1 << 32):08x}"
    brand = api.ok("POST", "/brands", {"name": name, "timezone": "UTC"})["id"]
    client = api.ok("POST", "/clients", {"brand": brand, "name": "Bench Client", "type": "vpbx"})["id"]
    carrier = api.ok("POST", "/carriers", {"brand": brand, "name": "Bench Carrier"})["id"]
    activation = rfc3339(month_start(24))
    ids = {"brand": brand, "client": client, "carrier": carrier}
    for role, owner, scale in (("cost", "carrier", 1), ("price", "client", 2)):
        plan = api.ok("POST", "/rating_plans", {"brand": brand, "name": f"{role} plan"})["id"]
        api.ok("POST", f"/rating_plans/{plan}/rates", rates_csv(a.prefixes, role, scale),
               content_type="text/csv")
        api.ok("POST", "/rating_profiles", {"brand": brand, owner: ids[owner],
                                            "ratingPlan": plan, "activationTime": activation})
        ids[f"{role}Plan"] = plan
    ids["prefixes"] = a.prefixes
    with open(a.state, "w") as f:
        json.dump(ids, f)
    print(json.dumps(ids))


def cmd_calls(a):
    ids = json.load(open(a.state))
    plan_prefixes = prefixes(ids["prefixes"], 1)
    start = month_start(1)
    span = (month_start(0) - start).total_seconds()
    rnd = random.Random(a.batch)
    first = a.batch * a.count
    client, carrier = ids["client"], ids["carrier"]
    with open(a.out, "w", newline="") as f:
        f.write("callid,startTime,duration,caller,callee,direction,client,carrier\n")
        lines = []
        for i in range(first, first + a.count):
            # Distinct seconds spread over the month; batches interleave in time.
            t = start + dt.timedelta(seconds=(i * 7919) % int(span))
            p = rnd.choice(plan_prefixes)
            callee = "+" + p + "".join(rnd.choices("0123456789", k=11 - len(p)))
            caller = "+3491" + "".join(rnd.choices("0123456789", k=7))
            duration = rnd.randint(0, 900)
            dur = f"{duration}.{rnd.randint(0, 99):02d}" if i % 3 == 0 else str(duration)
            lines.append(f"{i:08d}-{rnd.getrandbits(48):012x}@sbc.bench.example,{rfc3339(t)},"
                         f"{dur},{caller},{callee},outbound,{client},{carrier}\n")
            if len(lines) >= 10000:
                f.writelines(lines)
                lines.clear()
        f.writelines(lines)


def cmd_master_csv(a):
    """An Asterisk Master.csv of `count` answered outbound calls, 18 columns (with uniqueid
    and userfield), as Asterisk writes it: strings quoted, integers bare, local times, one
    line per call as it ends, so start times run through the month in order (with
    `--shuffled`, scattered over the month instead, as a file merged from many sources)."""
    ids = json.load(open(a.state))
    plan_prefixes = prefixes(ids["prefixes"], 1)
    start = month_start(1).replace(tzinfo=None)
    span = int((month_start(0) - month_start(1)).total_seconds())
    rnd = random.Random(a.seed)
    with open(a.out, "w", newline="") as f:
        lines = []
        for i in range(a.count):
            offset = (i * 7919) % span if a.shuffled else i * span // a.count
            t = start + dt.timedelta(seconds=offset)
            p = rnd.choice(plan_prefixes)
            dst = "00" + p + "".join(rnd.choices("0123456789", k=11 - len(p)))
            src = str(200 + i % 50)
            billsec = rnd.randint(1, 900)
            begin = t.strftime("%Y-%m-%d %H:%M:%S")
            answer = (t + dt.timedelta(seconds=5)).strftime("%Y-%m-%d %H:%M:%S")
            end = (t + dt.timedelta(seconds=5 + billsec)).strftime("%Y-%m-%d %H:%M:%S")
            lines.append(
                f'"BENCH","{src}","{dst}","from-internal","""Ext {src}"" <{src}>",'
                f'"SIP/{src}-{i:08x}","SIP/BENCHTRUNK-{i:08x}","Dial","SIP/BENCHTRUNK/{dst},60,tT",'
                f'"{begin}","{answer}","{end}",{billsec + 5},{billsec},"ANSWERED","DOCUMENTATION",'
                f'"{1700000000 + a.seed}.{i}",""\n')
            if len(lines) >= 10000:
                f.writelines(lines)
                lines.clear()
        f.writelines(lines)


def cmd_source(a):
    """Codes on the bench client and carrier, and an asterisk-csv source mapping them."""
    api = Api(a.url)
    ids = json.load(open(a.state))
    api.ok("PATCH", f"/clients/{ids['client']}", {"code": "BENCH"},
           content_type="application/merge-patch+json")
    api.ok("PATCH", f"/carriers/{ids['carrier']}", {"code": "BENCHTRUNK"},
           content_type="application/merge-patch+json")
    created = api.ok("POST", "/cdr_sources", {
        "brand": ids["brand"], "name": "bench pbx", "format": "asterisk-csv", "timezone": "UTC",
        "numbering": {"countryCode": "34", "nationalPrefix": "", "internationalPrefix": "00",
                      "extensionMaxDigits": 4},
        "mapping": {"client": {"field": "accountcode"}},
    }, expect=(201,))
    ids["source"] = created["id"]
    pushed = api.ok("POST", "/cdr_sources", {
        "brand": ids["brand"], "name": "bench freeswitch", "format": "freeswitch-json",
        "numbering": {"countryCode": "34", "nationalPrefix": "", "internationalPrefix": "00",
                      "extensionMaxDigits": 4},
        "mapping": {"client": {"field": "variables.accountcode"}},
    }, expect=(201,))
    ids["pushSource"], ids["pushSecret"] = pushed["id"], pushed["pushSecret"]
    with open(a.state, "w") as f:
        json.dump(ids, f)
    print(json.dumps({"source": created["id"]}))


def cmd_upload(a):
    """Uploads FILE to the bench source (streamed from disk); prints seconds and counts."""
    api = Api(a.url)
    ids = json.load(open(a.state))
    size = os.path.getsize(a.file)
    with open(a.file, "rb") as body:
        t0 = time.perf_counter()
        api.conn.request("POST", f"/cdr_sources/{ids['source']}/imports?fileName=Master.csv",
                         body=body, headers={"Authorization": f"Bearer {api.token}",
                                             "Content-Type": "text/csv",
                                             "Content-Length": str(size)})
        response = api.conn.getresponse()
        raw = response.read()
        seconds = time.perf_counter() - t0
    if response.status != 201:
        sys.exit(f"upload: {response.status} {raw[:500]!r}")
    done = json.loads(raw)
    print(json.dumps({"seconds": round(seconds, 3), "records": done["records"],
                      "accepted": done["accepted"], "rejected": done["rejected"],
                      "unrated": done["unrated"], "status": done["status"],
                      "errors": done["errors"][:3]}))
    if done["status"] != "done" or done["rejected"] or done["unrated"]:
        sys.exit(f"upload: records rejected or unrated: {raw[:800]!r}")


def cmd_spool(a):
    """Points the bench source at DIR (inside the service's CALLCSV_SPOOL_ROOT), appends FILE
    to DIR/Master.csv in 1 MiB pieces as fast as the disk takes them, and waits until the
    runner has stored every record; prints the seconds from the first byte appended to the
    last record stored."""
    api = Api(a.url)
    ids = json.load(open(a.state))
    api.ok("PATCH", f"/cdr_sources/{ids['source']}",
           {"spool": {"path": a.dir, "pattern": "Master*.csv"}},
           content_type="application/merge-patch+json")
    expected = sum(1 for _ in open(a.file, "rb"))
    target = os.path.join(a.dir, "Master.csv")
    t0 = time.perf_counter()
    with open(a.file, "rb") as src, open(target, "ab") as out:
        while True:
            piece = src.read(1 << 20)
            if not piece:
                break
            out.write(piece)
            out.flush()
    appended = time.perf_counter() - t0
    stored = 0
    while True:
        imports = api.ok("GET", f"/cdr_imports?source={ids['source']}&origin=spool&itemsPerPage=1000")
        stored = sum(i["accepted"] + i["duplicates"] + i["rejected"] for i in imports)
        if stored >= expected or time.perf_counter() - t0 > a.timeout:
            break
        time.sleep(0.2)
    seconds = time.perf_counter() - t0
    accepted = sum(i["accepted"] for i in imports)
    print(json.dumps({"seconds": round(seconds, 3), "appended_s": round(appended, 3),
                      "records": expected, "accepted": accepted, "imports": len(imports)}))
    if accepted != expected:
        sys.exit(f"spool: {accepted} of {expected} records stored after {seconds:.0f} s")


def push_sender(url, source, secret, seconds, sender, plan_prefixes, out):
    """One switch: posts a mod_json_cdr document per call, one at a time, for `seconds`."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    rnd = random.Random(sender)
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    latencies, failures, i = [], 0, 0
    t_end = time.time() + seconds
    start = int(month_start(1).timestamp())
    while time.time() < t_end:
        p = rnd.choice(plan_prefixes)
        dst = "00" + p + "".join(rnd.choices("0123456789", k=11 - len(p)))
        billsec = rnd.randint(1, 900)
        epoch = start + (sender * 1000003 + i * 7919) % (27 * 86400)
        doc = json.dumps({
            "variables": {"uuid": f"bench-{sender}-{i}-{rnd.getrandbits(32):08x}",
                          "accountcode": "BENCH", "start_epoch": str(epoch),
                          "answer_epoch": str(epoch + 5), "billsec": str(billsec),
                          "hangup_cause": "NORMAL_CLEARING", "sip_gateway_name": "BENCHTRUNK"},
            "callflow": [{"caller_profile": {"caller_id_number": str(200 + sender),
                                             "destination_number": dst}}],
        })
        t0 = time.perf_counter()
        conn.request("POST", f"/cdr_sources/{source}/records", body=doc, headers=headers)
        response = conn.getresponse()
        body = response.read()
        latencies.append((time.perf_counter() - t0) * 1000)
        if response.status != 200 or json.loads(body).get("accepted") != 1:
            failures += 1
        i += 1
    out.send((latencies, failures))


def cmd_push(a):
    """`--senders` switches pushing one record per request for `--seconds`; records/s, p50/p99."""
    import multiprocessing
    ids = json.load(open(a.state))
    plan_prefixes = prefixes(ids["prefixes"], 1)
    ctx = multiprocessing.get_context("spawn")
    pipes, procs = [], []
    for n in range(a.senders):
        ours, theirs = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=push_sender, args=(a.url, ids["pushSource"], ids["pushSecret"],
                                                     a.seconds, n, plan_prefixes, theirs))
        proc.start()
        pipes.append(ours)
        procs.append(proc)
    latencies, failures = [], 0
    for ours in pipes:
        got, failed = ours.recv()
        latencies.extend(got)
        failures += failed
    for proc in procs:
        proc.join()
    latencies.sort()
    print(json.dumps({
        "senders": a.senders, "records": len(latencies), "failures": failures,
        "per_second": round(len(latencies) / a.seconds),
        "p50_ms": round(statistics.median(latencies), 1),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 1),
        "load": round(os.getloadavg()[0], 1),
    }))


def cmd_ingest(a):
    api = Api(a.url)
    ids = json.load(open(a.state))
    body = open(a.file, "rb").read()
    t0 = time.perf_counter()
    summary = api.ok("POST", f"/billable_calls?brand={ids['brand']}", body, content_type="text/csv",
                     expect=(200,))
    seconds = time.perf_counter() - t0
    summary["errors"] = summary.get("errors", [])[:3]
    print(json.dumps({"seconds": round(seconds, 3), **summary}))
    if summary["rejected"] or summary.get("unrated"):
        sys.exit(f"ingest: rows rejected or unrated: {summary}")


def cmd_alert_rules(a):
    """`count` enabled alert rules on the brand of `state`, as an operator guarding against
    toll fraud would write them: half destination (each blocking two of ten destinations
    the generated traffic seldom reaches, about 1 call in 5 000 each, and a +882 prefix),
    half velocity (per caller at most 30 calls, per endpoint 500, per client 5 000, within
    1 to 60 minutes: limits ordinary traffic stays under). Ingestion checks every outbound
    call against all of them; a few calls fire destination events."""
    api = Api(a.url)
    ids = json.load(open(a.state))
    countries = ["GB", "LY", "WS", "CK", "KI", "NU", "NR", "SB", "VA", "GG"]
    limits = {"caller": 30, "endpoint": 500, "client": 5000}
    for i in range(a.count):
        if i % 2 == 0:
            body = {"name": f"destination {i}", "kind": "destination", "mode": "block",
                    "countries": [countries[i % 10], countries[(i // 10) % 10]],
                    "prefixes": [f"+882{i:02d}"]}
        else:
            per = ["caller", "client", "endpoint"][i % 3]
            body = {"name": f"velocity {i}", "kind": "velocity", "per": per,
                    "maxCalls": limits[per], "minutes": 1 + i % 60}
        api.ok("POST", "/alert_rules", {"brand": ids["brand"], **body}, expect=(201,))
    print(json.dumps({"rules": a.count}))


def cmd_alert_rules_pass(a):
    """`count` enabled spend and quality rules on the statistics brand of `state` (its
    clients, carriers and endpoints from `stats-setup`), half each, varied as operators
    write them: every measure, window and `per`; scopes of a client, a client type, a
    carrier, an endpoint, countries or the whole brand; quality conditions against fixed
    values, the previous window and the same window last week. Thresholds are drawn so
    that some fire and most do not. No rule filters by direction or combines a carrier
    with a client, an endpoint or countries: such rules read the calls rather than the
    rollup (README, "Alerts")."""
    api = Api(a.url)
    ids = json.load(open(a.state))
    rnd = random.Random(12)
    countries = ["ES", "FR", "DE", "IT", "PT", "GB", "US", "MX"]
    for i in range(a.count):
        body = {"brand": ids["brand"], "name": f"rule {i}"}
        scope = i % 6
        if scope == 1:
            body["client"] = rnd.choice(ids["clients"])
        elif scope == 2:
            body["clientType"] = "vpbx"
        elif scope == 3:
            body["destinationCountry"] = ",".join(rnd.sample(countries, 2))
        elif scope == 4 and i % 2 == 0:
            body["carrier"] = rnd.choice(ids["carriers"])
        elif scope == 5:
            body.update({"client": ids["client"], "endpointType": "User",
                         "endpointId": rnd.choice(ids["endpoints"])})
        if i % 2 == 0:
            measure = ["price", "cost", "minutes", "calls"][(i // 2) % 4]
            per = [None, "client", "carrier", "endpoint"][(i // 8) % 4]
            # What the statistics' rollup answers: carrier figures are brand-wide (a carrier
            # with a client, an endpoint or countries, or per client or endpoint, reads the
            # calls themselves, as does a direction or client type per carrier).
            if per == "carrier" and any(k in body for k in ("client", "clientType", "endpointId",
                                                             "destinationCountry")):
                per = None
            if "carrier" in body and per in ("client", "endpoint"):
                per = "carrier"
            body.update({"kind": "spend", "measure": measure,
                         "window": ["hour", "day", "week", "month"][(i // 32) % 4],
                         "threshold": str(rnd.choice([10, 1000, 100000, 10000000]))})
            if per:
                body["per"] = per
        else:
            condition = ["below", "above", "dropsBy", "risesBy", "dropsByPercent",
                         "risesByPercent"][(i // 2) % 6]
            fixed = condition in ("below", "above")
            body.update({"kind": "quality", "metric": ["asr", "acd", "calls", "minutes"][(i // 12) % 4],
                         "window": ["hour", "day"][(i // 48) % 2], "condition": condition,
                         "value": str(rnd.choice([1, 5, 50, 500])),
                         "compareTo": "fixed" if fixed else rnd.choice(["previousWindow", "sameWindowLastWeek"])})
        api.ok("POST", "/alert_rules", body, expect=(201,))
    print(json.dumps({"rules": a.count}))


def cmd_stream(a):
    api = Api(a.url)
    ids = json.load(open(a.state))
    query = f"brand={ids['brand']}"
    if a.before:
        query += "&startTime%5Bstrictly_before%5D=" + urllib.parse.quote(a.before)
    t0 = time.perf_counter()
    api.conn.request("GET", f"/billable_calls?{query}",
                     headers={"Accept": "text/csv", "Authorization": f"Bearer {api.token}"})
    r = api.conn.getresponse()
    if r.status != 200:
        sys.exit(f"stream: {r.status} {r.read()[:300]!r}")
    size = lines = 0
    while True:
        chunk = r.read(1 << 20)
        if not chunk:
            break
        size += len(chunk)
        lines += chunk.count(b"\n")
    seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": round(seconds, 3), "bytes": size, "rows": lines - 1}))


def scheduler_body(ids, name, email=None):
    body = {"brand": ids["brand"], "name": name, "unit": "month", "frequency": 1,
            "callDirection": "outbound", "nextExecution": rfc3339(month_start(0))}
    if email:
        body["email"] = email
    return body


def cmd_backlog(a):
    api = Api(a.url)
    ids = json.load(open(a.state))
    now = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0)
    quarter = now - dt.timedelta(minutes=now.minute % 15)
    # Fires at quarter, quarter - 15 min, …: `occurrences` of them from this start to now.
    start = quarter - dt.timedelta(minutes=15 * (a.occurrences - 1))
    t0 = time.perf_counter()
    made = []
    for i in range(a.count):
        s = api.ok("POST", "/call_csv_schedulers",
                   {"brand": ids["brand"], "name": f"backlog-{i:03d}", "cron": "*/15 * * * *",
                    "nextExecution": rfc3339(start)})
        made.append(s["id"])
    print(json.dumps({"seconds": round(time.perf_counter() - t0, 3), "ids": made,
                      "expected": a.count * a.occurrences}))


def cmd_relay(a):
    """A minimal SMTP server: one thread per connection."""
    import socket
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", a.port))
    srv.listen(64)

    def serve(conn):
        f = conn.makefile("rb")
        say = lambda line: conn.sendall(line.encode() + b"\r\n")
        say("220 bench relay")
        try:
            while True:
                line = f.readline()
                if not line:
                    return
                cmd = line.strip().upper()
                if cmd.startswith(b"EHLO") or cmd.startswith(b"HELO"):
                    say("250 bench")
                elif cmd == b"DATA":
                    say("354 go ahead")
                    while f.readline() not in (b".\r\n", b".\n", b""):
                        pass
                    if a.mode == "stall":
                        threading.Event().wait()  # never answers
                    say("250 2.0.0 kept")
                elif cmd == b"QUIT":
                    say("221 bye")
                    return
                else:
                    say("250 ok")
        except OSError:
            return
        finally:
            conn.close()

    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


def cmd_scheduler(a):
    api = Api(a.url)
    ids = json.load(open(a.state))
    s = api.ok("POST", "/call_csv_schedulers", scheduler_body(ids, a.name))
    print(json.dumps({"id": s["id"], "nextExecution": s["nextExecution"]}))


def cmd_rerun(a):
    api = Api(a.url)
    s = api.ok("PATCH", f"/call_csv_schedulers/{a.id}", {"nextExecution": rfc3339(month_start(0))})
    print(json.dumps({"id": s["id"], "nextExecution": s["nextExecution"]}))


def cmd_wait_report(a):
    api = Api(a.url)
    deadline = time.time() + a.timeout
    while time.time() < deadline:
        rows = api.ok("GET", f"/call_csv_reports?scheduler={a.id}&itemsPerPage=100")
        if len(rows) >= a.count:
            rows.sort(key=lambda r: r["createdAt"])
            print(json.dumps(rows[-1]))
            return
        time.sleep(0.5)
    sys.exit(f"wait-report: fewer than {a.count} reports after {a.timeout} s")


def cmd_schedulers(a):
    ids = json.load(open(a.state))
    token = Api(a.url).token
    counter = iter(range(a.count))
    lock = threading.Lock()
    failures = []

    def work():
        api = Api(a.url, token)
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            status, body = api.request("POST", "/call_csv_schedulers",
                                       scheduler_body(ids, f"due-{i:05d}", a.email))
            if status != 201:
                failures.append((status, body[:200]))

    t0 = time.perf_counter()
    threads = [threading.Thread(target=work) for _ in range(a.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    if failures:
        sys.exit(f"schedulers: {len(failures)} failed, e.g. {failures[0]}")
    print(json.dumps({"seconds": round(seconds, 3), "created": a.count}))


def rss_mb(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def probe_loop(url, paths, seconds, out):
    """Times `paths` in turn, one at a time, 20 a second, for `seconds`; sends the list."""
    probe = Api(url)
    latencies = []
    t_end = time.time() + seconds
    i = 0
    while time.time() < t_end:
        t0 = time.perf_counter()
        status, _ = probe.request("GET", paths[i % 2])
        latencies.append((time.perf_counter() - t0) * 1000)
        if status != 200:
            out.send(f"probe {paths[i % 2]}: {status}")
            return
        i += 1
        time.sleep(0.05)
    out.send(latencies)


def run_prober(url, paths, seconds, pid):
    """Runs `probe_loop` in a child process; returns its latencies and the service's peak
    RSS (MB) seen meanwhile."""
    import multiprocessing
    ctx = multiprocessing.get_context("spawn")
    ours, theirs = ctx.Pipe(duplex=False)
    child = ctx.Process(target=probe_loop, args=(url, paths, seconds, theirs))
    child.start()
    peak = rss_mb(pid)
    while not ours.poll(0.1):
        peak = max(peak, rss_mb(pid))
    got = ours.recv()
    child.join()
    if isinstance(got, str):
        sys.exit(got)
    return got, peak


def cmd_readers(a):
    """Slow readers of GET /billable_calls (text/csv) and a prober of other requests."""
    api = Api(a.url)
    ids = json.load(open(a.state))
    host, port = api.host, api.port
    request = (f"GET /billable_calls?brand={ids['brand']} HTTP/1.1\r\nHost: {host}:{port}\r\n"
               f"Accept: text/csv\r\nAuthorization: Bearer {api.token}\r\n\r\n").encode()
    statuses, read_bytes = [], []
    lock = threading.Lock()
    stop = threading.Event()
    started = threading.Barrier(a.count + 1)

    def reader():
        total, status = 0, None
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            # A small receive buffer: the service, not the kernel, must hold back.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
            s.settimeout(30)
            s.connect((host, port))
            s.sendall(request)
            head = b""
            while b"\r\n" not in head:
                got = s.recv(256)
                if not got:
                    break
                head += got
            status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
            total += len(head)
        except (OSError, ValueError):
            status = status or -1
        try:
            started.wait(timeout=120)
        except threading.BrokenBarrierError:
            pass
        # Read `rate` bytes a second in 4 KiB sips until told to stop (or the body ends).
        sip = 4096
        pause = sip / a.rate
        while status == 200 and not stop.is_set():
            try:
                got = s.recv(sip)
            except OSError:
                break
            if not got:
                break
            total += len(got)
            time.sleep(pause)
        try:
            s.close()
        except OSError:
            pass
        with lock:
            statuses.append(status)
            read_bytes.append(total)

    paths = [f"/brands/{ids['brand']}", f"/billable_calls?brand={ids['brand']}&itemsPerPage=10"]
    # The same probes with no reader, measured in the same run: what the machine gives.
    idle = run_prober(a.url, paths, min(10, a.seconds), a.pid)[0]

    threads = [threading.Thread(target=reader, daemon=True) for _ in range(a.count)]
    for t in threads:
        t.start()
        time.sleep(a.ramp / a.count)
    started.wait(timeout=120)

    # The prober: other requests, one at a time, timed, while the readers read. It runs in
    # a process of its own, so the 200 reader threads' turns at Python's interpreter lock
    # are not counted as the service's latency.
    latencies, peak_during = run_prober(a.url, paths, a.seconds, a.pid)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    # What the process keeps once every reader is gone: 3 s and 10 s after.
    time.sleep(3)
    after = rss_mb(a.pid)
    time.sleep(7)
    after_10s = rss_mb(a.pid)
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    idle.sort()
    idle_p99 = idle[min(len(idle) - 1, int(len(idle) * 0.99))]
    print(json.dumps({
        "readers": a.count,
        "streaming": statuses.count(200),
        "refused_429": statuses.count(429),
        "other": len([s for s in statuses if s not in (200, 429)]),
        "mb_read": round(sum(read_bytes) / 1e6, 1),
        "probes": len(latencies),
        "p50_ms": round(statistics.median(latencies), 1),
        "p99_ms": round(p99, 1),
        "idle_p50_ms": round(statistics.median(idle), 1),
        "idle_p99_ms": round(idle_p99, 1),
        "max_ms": round(latencies[-1], 1),
        "rss_during_mb": round(peak_during),
        "hwm_mb": round(rss_mb(a.pid, "VmHWM")),
        "rss_after_mb": round(after),
        "rss_after_10s_mb": round(after_10s),
        "load": round(os.getloadavg()[0], 1),
    }))


def cmd_stats_setup(a):
    """Clients 2..--clients, carriers 2..--carriers, --endpoints endpoints of the first client."""
    api = Api(a.url)
    ids = json.load(open(a.state))
    brand = ids["brand"]
    clients = [ids["client"]]
    for i in range(2, a.clients + 1):
        clients.append(api.ok("POST", "/clients", {"brand": brand, "name": f"Client {i}",
                                                   "type": "vpbx"})["id"])
    carriers = [ids["carrier"]]
    for i in range(2, a.carriers + 1):
        carriers.append(api.ok("POST", "/carriers", {"brand": brand, "name": f"Carrier {i}"})["id"])
    endpoints = [api.ok("POST", "/endpoints", {"client": ids["client"], "type": "User",
                                                "name": f"User {i}"})["id"]
                 for i in range(1, a.endpoints + 1)]
    ids.update({"clients": clients, "carriers": carriers, "endpoints": endpoints})
    with open(a.state, "w") as f:
        json.dump(ids, f)
    print(json.dumps({"clients": len(clients), "carriers": len(carriers), "endpoints": len(endpoints)}))


def cmd_operator(a):
    api = Api(a.url)
    brand = json.load(open(a.state))["brand"]
    # The console shows the brand's local time: a zone off UTC (and with summer time), as
    # most operators have, so local days are not UTC days.
    api.ok("PATCH", f"/brands/{brand}", {"timezone": "Europe/Madrid"},
           content_type="application/merge-patch+json")
    api.ok("POST", "/administrators", {"username": "bench-operator", "password": PASSWORD,
                                       "role": "brand", "brand": brand})
    calls = api.ok("GET", f"/billable_calls?brand={brand}&itemsPerPage=1")
    print(json.dumps({"call": calls[0]["id"] if calls else None}))


def cmd_stats_queries(a):
    api = Api(a.url)
    paths = [line.strip() for line in open(a.paths) if line.strip()]
    out = {}
    for path in paths:
        times = []
        for i in range(a.warmup + a.count):
            t0 = time.perf_counter()
            status, body = api.request("GET", path)
            ms = (time.perf_counter() - t0) * 1000
            if status != 200:
                sys.exit(f"GET {path}: {status} {body[:300]!r}")
            if i >= a.warmup:
                times.append(ms)
        times.sort()
        p95 = times[math.ceil(0.95 * len(times)) - 1]  # nearest rank
        rows = len(json.loads(body)["rows"])
        calls = json.loads(body)["totals"]["calls"]
        out[path] = {"median_ms": round(statistics.median(times), 1), "p95_ms": round(p95, 1),
                     "rows": rows, "calls": calls}
    print(json.dumps(out))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    def add(name, fn, *args):
        s = sub.add_parser(name)
        s.add_argument("--url", default="http://127.0.0.1:8080")
        s.add_argument("--state")
        for arg, kw in args:
            s.add_argument(arg, **kw)
        s.set_defaults(fn=fn)

    add("setup", cmd_setup, ("--prefixes", {"type": int, "default": 1000}), ("--name", {}))
    add("calls", cmd_calls, ("--count", {"type": int, "required": True}),
        ("--batch", {"type": int, "default": 0}),
        ("--out", {"required": True}))
    add("ingest", cmd_ingest, ("--file", {"required": True}))
    add("master-csv", cmd_master_csv, ("--count", {"type": int, "required": True}),
        ("--seed", {"type": int, "default": 0}), ("--out", {"required": True}),
        ("--shuffled", {"action": "store_true"}))
    add("source", cmd_source)
    add("upload", cmd_upload, ("--file", {"required": True}))
    add("spool", cmd_spool, ("--file", {"required": True}),
        ("--dir", {"required": True, "help": "the spool directory (created by the caller)"}),
        ("--timeout", {"type": float, "default": 3600}))
    add("push", cmd_push, ("--senders", {"type": int, "default": 16}),
        ("--seconds", {"type": int, "default": 20}))
    add("alert-rules", cmd_alert_rules, ("--count", {"type": int, "default": 100}))
    add("alert-rules-pass", cmd_alert_rules_pass, ("--count", {"type": int, "default": 1000}))
    add("stream", cmd_stream, ("--before", {"help": "only calls before this RFC 3339 time"}))
    add("scheduler", cmd_scheduler, ("--name", {"default": "bench report"}))
    add("rerun", cmd_rerun, ("--id", {"required": True}))
    add("wait-report", cmd_wait_report, ("--id", {"required": True}),
        ("--count", {"type": int, "default": 1}), ("--timeout", {"type": float, "default": 1800}))
    add("schedulers", cmd_schedulers, ("--count", {"type": int, "required": True}),
        ("--threads", {"type": int, "default": 8}), ("--email", {}))
    add("backlog", cmd_backlog, ("--count", {"type": int, "default": 10}),
        ("--occurrences", {"type": int, "default": 1000}))
    add("relay", cmd_relay, ("--port", {"type": int, "required": True}),
        ("--mode", {"choices": ["ok", "stall"], "default": "ok"}))
    add("stats-setup", cmd_stats_setup, ("--clients", {"type": int, "default": 50}),
        ("--carriers", {"type": int, "default": 5}), ("--endpoints", {"type": int, "default": 200}))
    add("operator", cmd_operator)
    add("stats-queries", cmd_stats_queries, ("--paths", {"required": True}),
        ("--count", {"type": int, "default": 40}), ("--warmup", {"type": int, "default": 3}))
    add("readers", cmd_readers, ("--count", {"type": int, "default": 200}),
        ("--rate", {"type": int, "default": 32768, "help": "bytes/s per reader"}),
        ("--seconds", {"type": float, "default": 30}),
        ("--ramp", {"type": float, "default": 5, "help": "seconds to open all readers"}),
        ("--pid", {"type": int, "required": True}))
    a = p.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
