#!/usr/bin/env python3
"""Writes the fuzz targets' seed inputs to fuzz/seeds/<target>/ (before
minimising with `infra/fuzz.sh --minimise`): the public samples
($ONEROSTER_SAMPLES, default ../shared/samples), a small generated district
(`rosterctl generate`, path in $ROSTERCTL), and a few hand-made edge cases.
See docs/fuzzing.md for each target's input format."""
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "fuzz" / "seeds"
SAMPLES = Path(os.environ.get("ONEROSTER_SAMPLES", ROOT.parent / "shared" / "samples"))
ROSTERCTL = os.environ.get("ROSTERCTL", str(ROOT / "target" / "debug" / "rosterctl"))
# As fuzz/src/lib.rs: FILE_NAMES and FILE_SEPARATOR.
FILE_NAMES = ["manifest.csv", "orgs.csv", "academicSessions.csv", "courses.csv", "classes.csv",
              "users.csv", "enrollments.csv", "demographics.csv", "categories.csv",
              "lineItems.csv", "results.csv", "resources.csv", "classResources.csv"]
FILE_SEPARATOR = b"\n\x00\x00"
# As EntityKind::ALL.
KINDS = ["orgs", "academicSessions", "courses", "classes", "users", "enrollments", "demographics"]


def seed(target, data):
    out = SEEDS / target
    out.mkdir(parents=True, exist_ok=True)
    (out / hashlib.sha1(data).hexdigest()).write_bytes(data)


def folder_input(folder):
    parts = []
    for path in sorted(folder.glob("*.csv")):
        if path.name in FILE_NAMES:
            parts.append(bytes([FILE_NAMES.index(path.name)]) + path.read_bytes())
    return FILE_SEPARATOR.join(parts)


def packages(tmp):
    """Sample folders and zips, and a small generated district in both forms."""
    folders = sorted(p for p in (SAMPLES / "csv").iterdir() if p.is_dir())
    zips = [p / "oneroster.zip" for p in folders if (p / "oneroster.zip").exists()]
    for form, out in [("folder", tmp / "gen"), ("zip", tmp / "gen.zip")]:
        subprocess.run([ROSTERCTL, "generate", "--students", "3", "--out", str(out)],
                       check=True, stdout=subprocess.DEVNULL)
        (folders if form == "folder" else zips).append(out)
    return folders, zips


def main():
    with tempfile.TemporaryDirectory() as tmp:
        folders, zips = packages(Path(tmp))
        for folder in folders:
            seed("package_folder", folder_input(folder))
            for csv in sorted(folder.glob("*.csv")):
                # Buffer sizes: one large, and small ones that cut rows.
                for size in (0, 7):
                    seed("rows", bytes([size]) + csv.read_bytes())
        for z in zips:
            seed("package_zip", z.read_bytes())
    for edge in [b"\xe7,\x80\x80", b"a,\"b\"\"c\",\"d\r\ne\"\r\n\r\nf", b"\xef\xbb\xbfh1,h2\n1,2"]:
        seed("rows", b"\x03" + edge)
    for page in sorted((SAMPLES / "rest").glob("*/*.json")):
        seed("rest_page", bytes([KINDS.index(page.stem)]) + page.read_bytes())
    for query in ["state=s1&code=c1", "code=c1", "state=&code=c1&iss=https%3A%2F%2Flaunchpad.classlink.com",
                  "state=s1&error=access_denied&error_description=No+thanks", "state=s1&state=s2&code="]:
        seed("sso_query", query.encode())
    claims = {"sub": "u-1", "iss": "https://launchpad.classlink.com", "aud": "client",
              "classLink_tenant_id": 42, "classLink_role": "teacher", "classLink_sourcedId": "t1",
              "email": "t@example.org", "given_name": "T", "family_name": "One"}
    seed("sso_claims", b"\x00" + json.dumps(claims).encode())
    seed("sso_claims", b"\x00" + json.dumps({**claims, "classLink_tenant_id": "abc", "classLink_role": " "}).encode())
    seed("sso_claims", b"\x01eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1LTEifQ.c2ln")


if __name__ == "__main__":
    sys.exit(main())
