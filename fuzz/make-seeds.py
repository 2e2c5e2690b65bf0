#!/usr/bin/env python3
"""Writes the fuzz targets' seed inputs to fuzz/seeds/<target>/ (before
minimising with `infra/fuzz.sh --minimise`): the public samples
($ONEROSTER_SAMPLES, default ../shared/samples), a small generated district
(`rosterctl generate`, path in $ROSTERCTL), a small OneRoster 1.2 district
(folder and zip), and a few hand-made edge cases.
See docs/fuzzing.md for each target's input format."""
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "fuzz" / "seeds"
SAMPLES = Path(os.environ.get("ONEROSTER_SAMPLES", ROOT.parent / "shared" / "samples"))
ROSTERCTL = os.environ.get("ROSTERCTL", str(ROOT / "target" / "debug" / "rosterctl"))
# As fuzz/src/lib.rs: FILE_NAMES and FILE_SEPARATOR.
FILE_NAMES = ["manifest.csv", "orgs.csv", "academicSessions.csv", "courses.csv", "classes.csv",
              "users.csv", "enrollments.csv", "demographics.csv", "categories.csv",
              "lineItems.csv", "results.csv", "resources.csv", "classResources.csv",
              "roles.csv", "userProfiles.csv"]
FILE_SEPARATOR = b"\n\x00\x00"
# As EntityKind::ALL.
KINDS = ["orgs", "academicSessions", "courses", "classes", "users", "enrollments", "demographics"]


# A OneRoster 1.2 district (as shared/oneroster/tests/suite: Fixture::valid with v1p2.rs's
# valid_1p2): users.csv in 1.2's columns, their roles in roles.csv, a credential in
# userProfiles.csv (counted, never read).
V1P2 = {
    "manifest.csv": "propertyName,value\nmanifest.version,1.0\noneroster.version,1.2\nfile.orgs,bulk\n"
    "file.academicSessions,bulk\nfile.courses,bulk\nfile.classes,bulk\nfile.users,bulk\nfile.roles,bulk\n"
    "file.userProfiles,bulk\nfile.enrollments,bulk\nfile.demographics,bulk\n",
    "orgs.csv": "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n"
    "d1,active,2024-01-01T00:00:00.000Z,District,district,,\n"
    "s1,active,2024-01-01T00:00:00.000Z,School One,school,S1,d1\n",
    "academicSessions.csv": "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear\n"
    "y1,active,,2024-25,schoolYear,2024-08-01,2025-06-30,,2025\nt1,active,,Fall,semester,2024-08-01,2024-12-20,y1,2025\n",
    "courses.csv": "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects,subjectCodes\n"
    "c1,active,,y1,Reading,R1,\"01,02\",s1,Reading,\n",
    "classes.csv": "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods\n"
    "cl1,active,,Reading 1,01,c1,R1-1,scheduled,Room 1,s1,t1,,,1\ncl2,active,,Reading 2,02,c1,R1-2,homeroom,,s1,t1,,,2\n",
    "users.csv": "sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,userMasterIdentifier,resourceSourcedIds,preferredGivenName,preferredMiddleName,preferredFamilyName,primaryOrgSourcedId,pronouns\n"
    "t1u,active,,true,tina,{Fed:100},Tina,Teach,,T1,tina@example.org,,,,,hunter2,M-1,,Tee,,,s1,she/her\n"
    "st1,active,,true,sam,{Fed:200},Sam,Stu,,S1,sam@example.org,,,g1,01,s3cr3t-pw,,,,,,,\n"
    "st2,active,,true,sue,,Sue,Stu,,S2,,,,,02,,,,,,,,\ng1,active,,true,gina,,Gina,Guard,,,,,,st1,,,,,,,,,\n",
    "roles.csv": "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,orgSourcedId,userProfileSourcedId\n"
    "r1,active,,t1u,primary,teacher,2024-08-01,,s1,p1\nr2,active,,st1,primary,student,,,s1,\n"
    "r3,active,,st2,primary,student,,,s1,\nr4,active,,g1,primary,guardian,,,s1,\n",
    "userProfiles.csv": "sourcedId,status,dateLastModified,userSourcedId,profileType,vendorId,applicationId,description,credentialType,username,password\n"
    "p1,active,,t1u,app,v1,,,password,tina,TopSecret-123\n",
    "enrollments.csv": "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\n"
    "e1,active,,cl1,s1,t1u,teacher,true,,\ne2,active,,cl1,s1,st1,student,false,2024-08-01,\ne3,active,,cl2,s1,st2,student,false,,\n",
    "demographics.csv": "sourcedId,status,dateLastModified,birthDate,sex,americanIndianOrAlaskaNative,asian,blackOrAfricanAmerican,nativeHawaiianOrOtherPacificIslander,white,demographicRaceTwoOrMoreRaces,hispanicOrLatinoEthnicity,countryOfBirthCode,stateOfBirthAbbreviation,cityOfBirth,publicSchoolResidenceStatus\n"
    "st1,active,,2017-03-04,male,false,false,false,false,true,false,false,US,NY,Albany,\n",
}


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


def seed_v1p2(tmp):
    """The 1.2 district as a folder input, a zip, and its 1.2-only files as rows inputs."""
    folder = tmp / "v1p2"
    folder.mkdir()
    for name, text in V1P2.items():
        (folder / name).write_text(text)
    seed("package_folder", folder_input(folder))
    archive = tmp / "v1p2.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for name in sorted(V1P2):
            z.writestr(name, V1P2[name])
    seed("package_zip", archive.read_bytes())
    for name in ["users.csv", "roles.csv"]:
        seed("rows", b"\x07" + V1P2[name].encode())
    seed_v1p2_delta(tmp)


def seed_v1p2_delta(tmp):
    """The 1.2 district's users and roles as deltas: a role changed, one added, one deleted
    by its user and org, and a deletion that names no user."""
    files = dict(V1P2)
    files["manifest.csv"] = files["manifest.csv"].replace("file.users,bulk", "file.users,delta") \
        .replace("file.roles,bulk", "file.roles,delta")
    files["roles.csv"] = files["roles.csv"].split("\n", 1)[0] + "\n" \
        "r3,active,,st2,primary,teacher,,,s1,\nr9,active,,stan,secondary,aide,,,s1,\n" \
        "r2,tobedeleted,,st1,,,,,s1,\nr7,tobedeleted,,,,,,,s1,\n"
    folder = tmp / "v1p2-delta"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    seed("package_folder", folder_input(folder))


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
        seed_v1p2(Path(tmp))
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
