//! One-time login tickets: issued after a successful sign-in decision,
//! redeemed once by the teacher app for the teacher's identity. A ticket is
//! 256 random bits (base64url); only its SHA-256 is stored, for 60 seconds,
//! bound to the tenant and the user.

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use oneroster::EntityKind;
use rand::RngCore;
use roster::school_year::{class_is_current, RecordFacts};
use roster::{Lookup, OneTimeKind, OneTimeRecords, Records, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// How long a ticket lives.
pub const TICKET_TTL_SECONDS: i64 = 60;

#[derive(Serialize, Deserialize)]
struct Binding {
    tenant: String,
    sourced_id: String,
    /// The teacher app's `app_state` of the login that issued the ticket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    app_state: Option<String>,
}

/// What the teacher app receives for a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// Tenant.
    pub tenant: String,
    /// The teacher's sourcedId.
    pub sourced_id: String,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// The teacher's orgs (sourcedIds).
    pub orgs: Vec<String>,
    /// The classes they teach now (sourcedIds): active, with an active teacher
    /// enrollment, and a term that includes today (a class whose terms carry
    /// no dates counts as current). Last school year's classes never appear.
    pub classes: Vec<String>,
    /// A provisional user: made at sign-in because the district's roster did
    /// not have them yet (no classes until a sync delivers them).
    pub provisional: bool,
    /// The `app_state` the teacher app passed to `/start`, exactly; `null`
    /// for a login started at the LaunchPad tile. The app rejects a ticket
    /// whose `app_state` is not the one it started (login CSRF).
    pub app_state: Option<String>,
}

fn hash(ticket: &str) -> String {
    crate::sha256_hex(ticket)
}

/// Issues a ticket for (tenant, user), bound to the login's `app_state`;
/// returns the ticket (never stored as is).
pub async fn issue<S: OneTimeRecords>(
    store: &S,
    tenant: &str,
    sourced_id: &str,
    app_state: Option<&str>,
    now: DateTime<Utc>,
) -> Result<String, StoreError> {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let ticket = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let payload = serde_json::to_string(&Binding {
        tenant: tenant.into(),
        sourced_id: sourced_id.into(),
        app_state: app_state.map(String::from),
    })
    .map_err(|e| StoreError::permanent("encoding JSON").because(e))?;
    store
        .put_one_time(
            OneTimeKind::LoginTicket,
            &hash(&ticket),
            &payload,
            now + Duration::seconds(TICKET_TTL_SECONDS),
        )
        .await?;
    Ok(ticket)
}

/// Redeems a ticket once: the teacher's identity, or `None` (unknown, used,
/// expired, or the teacher is no longer an active roster user).
pub async fn redeem<S: OneTimeRecords + Records>(
    store: &S,
    ticket: &str,
    now: DateTime<Utc>,
) -> Result<Option<Identity>, StoreError> {
    if ticket.len() > 128 {
        return Ok(None);
    }
    let Some(payload) = store
        .take_one_time(OneTimeKind::LoginTicket, &hash(ticket), now)
        .await?
    else {
        return Ok(None);
    };
    let binding: Binding = serde_json::from_str(&payload)
        .map_err(|e| StoreError::permanent("encoding JSON").because(e))?;
    let Some(user) = store
        .get_entity(&binding.tenant, EntityKind::Users, &binding.sourced_id)
        .await?
    else {
        return Ok(None);
    };
    if user.archive.is_some() {
        return Ok(None);
    }
    let classes = current_classes(store, &binding.tenant, &binding.sourced_id, now).await?;
    Ok(Some(Identity {
        tenant: binding.tenant,
        sourced_id: binding.sourced_id,
        given_name: user.sis.str("givenName").map(String::from),
        family_name: user.sis.str("familyName").map(String::from),
        email: user.sis.str("email").map(String::from),
        orgs: user
            .sis
            .list("orgSourcedIds")
            .into_iter()
            .map(String::from)
            .collect(),
        classes,
        provisional: user.provisional,
        app_state: binding.app_state,
    }))
}

/// The classes user `user` teaches at `now` (sourcedIds, sorted): active,
/// with an active teacher enrollment, and a term that includes the day.
async fn current_classes<S: Records>(
    store: &S,
    tenant: &str,
    user: &str,
    now: DateTime<Utc>,
) -> Result<Vec<String>, StoreError> {
    let today = now.date_naive();
    let mut terms = HashMap::new();
    let mut classes = Vec::new();
    for enrollment_id in store
        .lookup(tenant, &Lookup::EnrollmentsOfUser(user.to_string()))
        .await?
    {
        let Some(e) = store
            .get_entity(tenant, EntityKind::Enrollments, &enrollment_id)
            .await?
        else {
            continue;
        };
        if e.archive.is_none() && e.sis.str("role") == Some("teacher") {
            if let Some(class) = e.sis.str("classSourcedId") {
                if classes.iter().any(|c: &String| c == class) {
                    continue;
                }
                let Some(record) = store
                    .get_entity(tenant, EntityKind::Classes, class)
                    .await?
                    .filter(|c| c.archive.is_none())
                else {
                    continue;
                };
                let class_terms: Vec<String> = record
                    .sis
                    .list("termSourcedIds")
                    .into_iter()
                    .map(String::from)
                    .collect();
                for term in &class_terms {
                    if !terms.contains_key(term) {
                        let dates = session_dates(store, tenant, term).await?;
                        terms.insert(term.clone(), dates);
                    }
                }
                if class_is_current(&class_terms, &terms, today) {
                    classes.push(class.to_string());
                }
            }
        }
    }
    classes.sort();
    Ok(classes)
}

/// A session's `(startDate, endDate)`, archived or not; `(None, None)` when
/// the store does not have it.
async fn session_dates<S: Records>(
    store: &S,
    tenant: &str,
    session: &str,
) -> Result<(Option<chrono::NaiveDate>, Option<chrono::NaiveDate>), StoreError> {
    let record = store
        .get_entity(tenant, EntityKind::AcademicSessions, session)
        .await?;
    Ok(
        match record.map(|r| RecordFacts::of(EntityKind::AcademicSessions, &r.sis)) {
            Some(RecordFacts::Session { start, end, .. }) => (start, end),
            _ => (None, None),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets_are_stored_only_as_hashes() {
        let h = hash("abc");
        assert_eq!(h.len(), 64);
        assert_ne!(h, "abc");
        assert_eq!(h, hash("abc"));
    }
}
