#!/usr/bin/env python3
"""A local OneRoster REST server (1.1 and 1.2) for tests and benchmarks.

Serves a OneRoster CSV package (e.g. from `rosterctl generate`) as the REST
binding under /ims/oneroster/v1p1 and, as the 1.2 Rostering Service, under
/ims/oneroster/rostering/v1p2 (users with `roles[]` and `primaryOrg`, errors
as 1.2 status payloads, OAuth 2 scopes checked: see v1p2.py); `--versions`
limits which it answers. JSON envelopes ({"users": [...]}) with
GUIDRefs, limit/offset paging sorted by sourcedId, X-Total-Count, and the
`dateLastModified>'...'` filter. Every request's OAuth 1.0a HMAC-SHA256
signature is verified with oauthlib (an implementation independent of the
client's), or a bearer token, or OAuth 2 client credentials (POST /token).

Faults for tests are set with POST /_faults (JSON) and counters read with
GET /_stats: `status_429_every`, `status_500_every`, `slow_ms`, `short_page`
(a collection whose pages after the first are cut: fewer records than
X-Total-Count announces), `total_changes`, `decline` ({collection: status},
e.g. {"demographics": 404}), `refuse_filter` (a 400 invalid_filter_field
for any `filter`), `withhold_scopes` (scopes the token endpoint never grants).
GET /_stats also tells the scopes of the last token request (`scopes`).
Prints "listening on PORT" once ready.
"""
import argparse
import base64
import csv
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from oauthlib.oauth1.rfc5849 import signature as oauth_signature

import v1p2

BASE = "/ims/oneroster/v1p1/"
COLLECTIONS = ["orgs", "academicSessions", "courses", "classes", "users", "enrollments", "demographics"]

REFS = {
    "orgs": {"parentSourcedId": ("parent", "org")},
    "academicSessions": {"parentSourcedId": ("parent", "academicSession")},
    "courses": {"schoolYearSourcedId": ("schoolYear", "academicSession"), "orgSourcedId": ("org", "org")},
    "classes": {"courseSourcedId": ("course", "course"), "schoolSourcedId": ("school", "org")},
    "enrollments": {"classSourcedId": ("class", "class"), "schoolSourcedId": ("school", "org"), "userSourcedId": ("user", "user")},
}
LIST_REFS = {
    "classes": {"termSourcedIds": ("terms", "academicSession")},
    "users": {"orgSourcedIds": ("orgs", "org"), "agentSourcedIds": ("agents", "user")},
}
LISTS = {"grades", "subjects", "subjectCodes", "periods"}
BOOLS = {"enabledUser", "primary", "americanIndianOrAlaskaNative", "asian", "blackOrAfricanAmerican",
         "nativeHawaiianOrOtherPacificIslander", "white", "demographicRaceTwoOrMoreRaces", "hispanicOrLatinoEthnicity"}


def guid(ref_type, sourced_id):
    return {"href": f"{ref_type}s/{sourced_id}", "sourcedId": sourced_id, "type": ref_type}


def to_json(collection, row):
    out, metadata = {}, {}
    for key, value in row.items():
        if key is None:
            continue
        if key.startswith("metadata."):
            if value:
                metadata[key[len("metadata."):]] = value
            continue
        if key == "password":
            continue
        if collection in REFS and key in REFS[collection]:
            name, kind = REFS[collection][key]
            if value:
                out[name] = guid(kind, value)
        elif collection in LIST_REFS and key in LIST_REFS[collection]:
            name, kind = LIST_REFS[collection][key]
            out[name] = [guid(kind, v) for v in value.split(",") if v]
        elif key == "userIds":
            ids = []
            for part in value.split("},{"):
                part = part.strip("{}")
                if ":" in part:
                    t, i = part.split(":", 1)
                    ids.append({"type": t, "identifier": i})
            out["userIds"] = ids
        elif key in LISTS:
            out[key] = [v for v in value.split(",") if v]
        elif key in BOOLS:
            # Real servers vary: enabledUser as 1/0, primary as a string, the rest as booleans.
            if value == "":
                continue
            truth = value.lower() == "true"
            if key == "enabledUser":
                out[key] = 1 if truth else 0
            elif key == "primary":
                out[key] = "true" if truth else "false"
            else:
                out[key] = truth
        elif value != "":
            out[key] = value
    if metadata:
        out["metadata"] = metadata
    # Some servers omit the status of active records: do so for every other record.
    sid = out.get("sourcedId", "")
    if out.get("status") == "active" and sid[-1:].isdigit() and int(sid[-1]) % 2 == 0:
        del out["status"]
    return out


class State:
    def __init__(self, package):
        self.data = {}
        self.users_1p2 = []
        for c in COLLECTIONS:
            path = os.path.join(package, f"{c}.csv")
            csv_rows = []
            if os.path.exists(path):
                with open(path, newline="", encoding="utf-8") as f:
                    csv_rows = list(csv.DictReader(f))
            rows = [to_json(c, r) for r in csv_rows]
            rows.sort(key=lambda r: r.get("sourcedId", ""))
            self.data[c] = rows
            if c == "users":
                self.users_1p2 = v1p2.users(package, csv_rows, to_json)
        self.faults = {}
        self.stats = {"requests": 0, "rejected_signatures": 0, "pages": 0}
        self.lock = threading.Lock()
        self.tokens = {}


def make_handler(state, args):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def send(self, code, body, headers=None):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def body(self):
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def host_uri(self):
            return f"http://{self.headers.get('Host')}{urlsplit(self.path).path}"

        def authorized(self):
            """False, True, or (OAuth 2) the token's scopes (None: no scope asked)."""
            auth = self.headers.get("Authorization") or ""
            if state.faults.get("force_401"):
                return False
            if args.auth == "oauth1":
                if not auth.startswith("OAuth "):
                    return False
                query = urlsplit(self.path).query
                params = oauth_signature.collect_parameters(uri_query=query, headers={"Authorization": auth}, exclude_oauth_signature=True)
                header_params = dict(oauth_signature.collect_parameters(headers={"Authorization": auth}, exclude_oauth_signature=False))
                if header_params.get("oauth_consumer_key") != args.key or header_params.get("oauth_signature_method") != "HMAC-SHA256":
                    return False
                normalized = oauth_signature.normalize_parameters(params)
                base = oauth_signature.signature_base_string("GET", oauth_signature.base_string_uri(self.host_uri()), normalized)
                expected = oauth_signature.sign_hmac_sha256(base, args.secret, "")
                ok = expected == header_params.get("oauth_signature")
                if not ok:
                    state.stats["rejected_signatures"] += 1
                return ok
            if args.auth in ("bearer", "oauth2"):
                token = auth[len("Bearer "):] if auth.startswith("Bearer ") else None
                if args.auth == "bearer":
                    return token == args.secret
                expiry, scopes = state.tokens.get(token, (0, None))
                return expiry > time.time() and {"scopes": scopes}
            return False

        def fail(self, version, status, body, code_minor, headers=None):
            """An error answer: `body` in 1.1, the 1.2 status payload in 1.2."""
            if version == "1.2":
                description = body.get("imsx_description") or body.get("error") or ""
                body = v1p2.status_info(code_minor or v1p2.CODE_MINOR.get(status, "invalid_data"), description)
            return self.send(status, body, headers)

        def do_POST(self):
            path = urlsplit(self.path).path
            if path == "/_faults":
                state.faults = json.loads(self.body() or b"{}")
                return self.send(200, {"ok": True})
            if path == "/token" and args.auth == "oauth2":
                form = dict(parse_qsl(self.body().decode()))
                basic = self.headers.get("Authorization", "")
                if basic.startswith("Basic "):
                    user, _, pw = base64.b64decode(basic[6:]).decode().partition(":")
                    form.setdefault("client_id", user)
                    form.setdefault("client_secret", pw)
                if form.get("grant_type") != "client_credentials" or form.get("client_id") != args.key or form.get("client_secret") != args.secret:
                    return self.send(401, {"error": "invalid_client"})
                scopes = None
                if "scope" in form:
                    requested = form["scope"].split()
                    state.stats["scopes"] = requested
                    scopes = v1p2.granted(requested, set(state.faults.get("withhold_scopes") or []))
                    if scopes is None:
                        return self.send(400, {"error": "invalid_scope"})
                token = base64.b16encode(os.urandom(16)).decode()
                state.tokens[token] = (time.time() + 3600, scopes)
                state.stats["tokens"] = state.stats.get("tokens", 0) + 1
                answer = {"access_token": token, "token_type": "Bearer", "expires_in": 3600}
                if scopes is not None:
                    answer["scope"] = " ".join(sorted(scopes))
                return self.send(200, answer)
            self.send(404, {"error": "not found"})

        def do_GET(self):
            split = urlsplit(self.path)
            if split.path == "/_stats":
                return self.send(200, state.stats)
            with state.lock:
                state.stats["requests"] += 1
                n = state.stats["requests"]
            version = None
            for base, v in ((BASE, "1.1"), (v1p2.BASE, "1.2")):
                if split.path.startswith(base) and v in args.versions.split(","):
                    version, collection = v, split.path[len(base):].strip("/")
            if version is None:
                return self.send(404, {"error": "not found"})
            if collection not in state.data:
                return self.fail(version, 404, {"error": f"unknown collection {collection}"}, "unknownobject")
            authorized = self.authorized()
            if not authorized:
                return self.fail(version, 401, {"imsx_codeMajor": "failure", "imsx_description": "unauthorized"}, "unauthorisedrequest")
            if version == "1.2" and isinstance(authorized, dict):
                refusal = v1p2.scope_refusal(collection, authorized["scopes"])
                if authorized["scopes"] is None:
                    refusal = "the token was issued for no OneRoster 1.2 scope"
                if refusal:
                    return self.fail(version, 403, {"error": refusal}, "forbidden")
            f = state.faults
            # {"decline": {"demographics": 404}}: a district API that does not serve a collection.
            declined = (f.get("decline") or {}).get(collection)
            if declined:
                return self.fail(version, int(declined), {"imsx_codeMajor": "failure", "imsx_description": f"{collection} not shared"}, None)
            if f.get("status_429_every") and n % f["status_429_every"] == 0:
                return self.fail(version, 429, {"error": "slow down"}, "server_busy", {"Retry-After": str(f.get("retry_after", 1))})
            if f.get("status_500_every") and n % f["status_500_every"] == 0:
                return self.fail(version, 500, {"error": "boom"}, "internal_server_error")
            if f.get("slow_ms"):
                time.sleep(f["slow_ms"] / 1000)
            q = dict(parse_qsl(split.query))
            rows = state.users_1p2 if (version == "1.2" and collection == "users") else state.data[collection]
            flt = q.get("filter")
            if flt and (f.get("refuse_filter") or (version == "1.2" and not flt.startswith("dateLastModified"))):
                return self.fail(version, 400, {"error": f"the filter field of `{flt}` cannot be filtered on"}, "invalid_filter_field")
            if flt:
                field, _, value = flt.partition(">")
                value = value.strip("'")
                rows = [r for r in rows if r.get(field.strip(), "") > value]
            limit = int(q.get("limit", 100))
            offset = int(q.get("offset", 0))
            page = rows[offset:offset + limit]
            total = len(rows)
            if f.get("short_page") == collection and offset > 0:
                page = page[: max(1, len(page) // 2)]
            if f.get("total_changes") == collection and offset > 0:
                total += 7
            state.stats["pages"] += 1
            self.send(200, {collection: page}, {"X-Total-Count": str(total)})

    return Handler


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--package", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--auth", choices=["oauth1", "bearer", "oauth2"], default="oauth1")
    p.add_argument("--key", default="key")
    p.add_argument("--secret", default="secret")
    p.add_argument("--versions", default="1.1,1.2", help="the OneRoster versions answered: 1.1, 1.2 or 1.1,1.2")
    args = p.parse_args()
    state = State(args.package)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(state, args))
    print(f"listening on {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
