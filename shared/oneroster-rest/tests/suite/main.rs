//! oneroster-rest's tests: the client and pulls against the project's local
//! OneRoster server (tests/servers/oneroster-api/server.py), which verifies
//! every OAuth 1.0a signature with oauthlib and injects faults on request.

mod client;
mod common;
mod v1p2;
