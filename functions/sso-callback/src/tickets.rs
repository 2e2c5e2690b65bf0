//! One-time login tickets: issued after a successful sign-in decision,
//! redeemed once by the teacher app for the teacher's identity. A ticket is
//! 256 random bits (base64url); only its SHA-256 is stored, for 60 seconds,
//! bound to the tenant and the user.

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use oneroster::EntityKind;
use rand::RngCore;
use roster::{OneTimeKind, OneTimeRecords, Records, StoreError};
use serde::{Deserialize, Serialize};

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
    /// The teacher's earlier sourcedIds, oldest first, when the district gave
    /// them a new one (an approved re-key): the app merges what it keeps by
    /// those ids into this one. Empty for almost everyone.
    #[serde(default)]
    pub previous_sourced_ids: Vec<String>,
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
    // The classes the teacher teaches today (rules shared with `rosterctl explain`).
    let classes = roster::sign_in::listed_classes(
        store,
        &binding.tenant,
        &binding.sourced_id,
        now.date_naive(),
    )
    .await?;
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
        previous_sourced_ids: user.rekey.previous_sourced_ids,
        app_state: binding.app_state,
    }))
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
