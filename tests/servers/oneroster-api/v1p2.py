"""OneRoster 1.2 for the local server: users with `roles[]`, the 1.2
status payloads of errors, and the OAuth 2 scopes of the Rostering Service.

A 1.2 package's users get their roles from its roles.csv, and, as a real
1.2 server may send them, their `password` and their `userProfiles` (from
userProfiles.csv, each with `credentials: [{type, username, password}]`):
credentials the client must never read. A 1.1 package's
users get one primary role per org of their `orgSourcedIds`, their 1.1
`role` carried over, except `administrator`, which becomes
`districtAdministrator` at a district org and `siteAdministrator` at any
other. The preferred names take the REST binding's JSON names
(preferredFirstName, preferredMiddleName, preferredLastName).
"""
import csv
import os

BASE = "/ims/oneroster/rostering/v1p2/"

SCOPE = "https://purl.imsglobal.org/spec/or/v1p2/scope/"
CORE = SCOPE + "roster-core.readonly"
ROSTER = SCOPE + "roster.readonly"
DEMOGRAPHICS = SCOPE + "roster-demographics.readonly"
KNOWN_SCOPES = {CORE, ROSTER, DEMOGRAPHICS}

PREFERRED = {
    "preferredGivenName": "preferredFirstName",
    "preferredMiddleName": "preferredMiddleName",
    "preferredFamilyName": "preferredLastName",
}

# The HTTP status of each fault, and its 1.2 code minor.
CODE_MINOR = {
    400: "invalid_data",
    401: "unauthorisedrequest",
    403: "forbidden",
    404: "unknownobject",
    429: "server_busy",
    500: "internal_server_error",
}


def status_info(code_minor, description):
    """A 1.2 error payload (imsx_StatusInfo)."""
    return {
        "imsx_codeMajor": "failure",
        "imsx_severity": "error",
        "imsx_description": description,
        "imsx_CodeMinor": {
            "imsx_codeMinorField": [
                {"imsx_codeMinorFieldName": "TargetEndSystem", "imsx_codeMinorFieldValue": code_minor}
            ]
        },
    }


def read_rows(package, name):
    path = os.path.join(package, f"{name}.csv")
    if not os.path.exists(path):
        return []
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def package_version(package):
    for row in read_rows(package, "manifest"):
        if row.get("propertyName") == "oneroster.version":
            return row.get("value", "1.1")
    return "1.1"


def guid(ref_type, sourced_id):
    return {"href": f"{ref_type}s/{sourced_id}", "sourcedId": sourced_id, "type": ref_type}


def roles_by_user(package):
    """A 1.2 package's roles.csv, as each user's `roles[]` in file order."""
    out = {}
    for row in read_rows(package, "roles"):
        if row.get("status") == "tobedeleted":
            continue
        role = {"roleType": row["roleType"], "role": row["role"], "org": guid("org", row["orgSourcedId"])}
        for key in ("beginDate", "endDate"):
            if row.get(key):
                role[key] = row[key]
        if row.get("userProfileSourcedId"):
            role["userProfile"] = row["userProfileSourcedId"]
        out.setdefault(row["userSourcedId"], []).append(role)
    return out


def profiles_by_user(package):
    """A 1.2 package's userProfiles.csv, as each user's `userProfiles[]`
    (the REST binding's UserProfile, its credentials included)."""
    out = {}
    for row in read_rows(package, "userProfiles"):
        if row.get("status") == "tobedeleted":
            continue
        profile = {"profileId": row["sourcedId"], "profileType": row.get("profileType", ""),
                   "vendorId": row.get("vendorId", "")}
        for key in ("applicationId", "description"):
            if row.get(key):
                profile[key] = row[key]
        if row.get("credentialType") or row.get("password"):
            profile["credentials"] = [{"type": row.get("credentialType", ""),
                                       "username": row.get("username", ""),
                                       "password": row.get("password", "")}]
        out.setdefault(row["userSourcedId"], []).append(profile)
    return out


def roles_from_1p1(row, org_types):
    """A 1.1 user's role at each of its orgs, as 1.2 roles."""
    roles = []
    for org in [o for o in row.get("orgSourcedIds", "").split(",") if o]:
        role = row.get("role", "")
        if role == "administrator":
            role = "districtAdministrator" if org_types.get(org) == "district" else "siteAdministrator"
        roles.append({"roleType": "primary", "role": role, "org": guid("org", org)})
    return roles


def user_1p2(user, row, roles, profiles=()):
    """A user's 1.1-style JSON (`user`, from CSV `row`) made a 1.2 user,
    with its `password` and `profiles` when it has them."""
    out = {k: v for k, v in user.items() if k not in ("role", "orgs", "resourceSourcedIds", "primaryOrgSourcedId")}
    for csv_name, json_name in PREFERRED.items():
        if csv_name in out:
            out[json_name] = out.pop(csv_name)
    primary = row.get("primaryOrgSourcedId") or next(
        (o for o in row.get("orgSourcedIds", "").split(",") if o), ""
    )
    if primary:
        out["primaryOrg"] = guid("org", primary)
    resources = [r for r in row.get("resourceSourcedIds", "").split(",") if r]
    if resources:
        out["resources"] = [guid("resource", r) for r in resources]
    out["roles"] = roles
    if row.get("password"):
        out["password"] = row["password"]
    if profiles:
        out["userProfiles"] = list(profiles)
    return out


def users(package, rows, to_json):
    """Every user of `package` (CSV `rows`) as 1.2 JSON, sorted by sourcedId."""
    profiles = {}
    if package_version(package) == "1.2":
        by_user = roles_by_user(package)
        roles_of = lambda row: by_user.get(row["sourcedId"], [])
        profiles = profiles_by_user(package)
    else:
        org_types = {o["sourcedId"]: o.get("type", "") for o in read_rows(package, "orgs")}
        roles_of = lambda row: roles_from_1p1(row, org_types)
    out = [user_1p2(to_json("users", row), row, roles_of(row), profiles.get(row["sourcedId"], ()))
           for row in rows]
    out.sort(key=lambda u: u.get("sourcedId", ""))
    return out


def scope_refusal(collection, scopes):
    """Why a token with `scopes` may not read `collection` (None: it may)."""
    if scopes is None:
        return None
    if collection == "demographics":
        if DEMOGRAPHICS not in scopes:
            return "the token lacks the scope " + DEMOGRAPHICS
        return None
    if CORE not in scopes and ROSTER not in scopes:
        return "the token lacks the scope " + CORE
    return None


def granted(requested, withheld):
    """The scopes a token gets: those asked for that the server knows and
    does not withhold; None when the request names no core scope."""
    scopes = {s for s in requested if s in KNOWN_SCOPES and s not in withheld}
    if CORE not in scopes and ROSTER not in scopes:
        return None
    return scopes
