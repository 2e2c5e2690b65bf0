//! What sign-in decides from the roster, in one place for the SSO function
//! and for `rosterctl explain`: which roster roles a tenant lets in, and
//! which of a user's classes are listed at sign-in (and why the others are not).

use crate::school_year::{class_is_current, RecordFacts};
use crate::store::{ArchiveInfo, Lookup, Records, StoreError, StoreResult, StoredEntity};
use crate::tenant::TenantConfig;
use chrono::NaiveDate;
use oneroster::EntityKind;
use serde::Serialize;
use std::collections::HashMap;

/// Whether `tenant` signs in a roster user of `roster_role`: teachers always,
/// aides where the tenant allows them, administrators where the tenant has
/// admin SSO on and ClassLink calls them administrators (`classlink_admin`).
pub fn admits(tenant: &TenantConfig, roster_role: &str, classlink_admin: bool) -> bool {
    roster_role == "teacher"
        || (roster_role == "aide" && tenant.sso_allow_aides)
        || (roster_role == "administrator" && tenant.admin_sso_enabled && classlink_admin)
}

/// One class a user is enrolled in, as sign-in sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClassAtSignIn {
    /// The class's sourcedId.
    pub class: String,
    /// The enrollment that names it.
    pub enrollment: String,
    /// Whether the class is listed to the teacher app, and why (not).
    pub verdict: ClassVerdict,
}

/// Why a class is, or is not, listed at sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum ClassVerdict {
    /// Listed: an active class, an active teacher enrollment, and a term
    /// that includes the day (or no dated term).
    Listed {
        /// The class's terms.
        terms: Vec<TermDates>,
    },
    /// The enrollment is archived.
    EnrollmentArchived {
        /// By whom, when, why.
        archive: ArchiveInfo,
    },
    /// The user is enrolled in another role than teacher.
    NotTeacher {
        /// The enrollment's role.
        role: String,
    },
    /// The class is archived.
    ClassArchived {
        /// By whom, when, why.
        archive: ArchiveInfo,
    },
    /// The roster has no such class.
    ClassMissing,
    /// None of the class's terms includes the day.
    NotCurrent {
        /// The class's terms.
        terms: Vec<TermDates>,
    },
}

impl ClassVerdict {
    /// Whether the class is listed.
    pub fn listed(&self) -> bool {
        matches!(self, ClassVerdict::Listed { .. })
    }
}

/// A term of a class and its dates (none when the roster lacks the term).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TermDates {
    /// The session's sourcedId.
    pub term: String,
    /// Its `startDate`.
    pub start: Option<NaiveDate>,
    /// Its `endDate`.
    pub end: Option<NaiveDate>,
}

/// Every class `user` of `tenant` is enrolled in, each with its verdict on
/// `today`, in the order of the user's enrollments.
pub async fn classes_at_sign_in<S: Records>(
    store: &S,
    tenant: &str,
    user: &str,
    today: NaiveDate,
) -> Result<Vec<ClassAtSignIn>, StoreError> {
    let mut sessions = HashMap::new();
    let mut classes = Vec::new();
    let enrollments = store
        .lookup(tenant, &Lookup::EnrollmentsOfUser(user.to_string()))
        .await?;
    for enrollment in enrollments {
        let Some(e) = store
            .get_entity(tenant, EntityKind::Enrollments, &enrollment)
            .await?
        else {
            continue;
        };
        let Some(class) = e.sis.str("classSourcedId").map(String::from) else {
            continue;
        };
        let role = e.sis.str("role").unwrap_or_default();
        let verdict = match (e.archive, role) {
            (Some(archive), _) => ClassVerdict::EnrollmentArchived { archive },
            (None, "teacher") => class_verdict(store, tenant, &class, today, &mut sessions).await?,
            (None, role) => ClassVerdict::NotTeacher {
                role: role.to_string(),
            },
        };
        classes.push(ClassAtSignIn {
            class,
            enrollment,
            verdict,
        });
    }
    Ok(classes)
}

/// The classes listed at sign-in for `user` on `today` (sourcedIds, sorted, once each).
pub async fn listed_classes<S: Records>(
    store: &S,
    tenant: &str,
    user: &str,
    today: NaiveDate,
) -> Result<Vec<String>, StoreError> {
    let mut listed: Vec<String> = classes_at_sign_in(store, tenant, user, today)
        .await?
        .into_iter()
        .filter(|c| c.verdict.listed())
        .map(|c| c.class)
        .collect();
    listed.sort();
    listed.dedup();
    Ok(listed)
}

/// The verdict on a class a teacher enrollment names.
async fn class_verdict<S: Records>(
    store: &S,
    tenant: &str,
    class: &str,
    today: NaiveDate,
    sessions: &mut HashMap<String, (Option<NaiveDate>, Option<NaiveDate>)>,
) -> Result<ClassVerdict, StoreError> {
    let Some(record) = store.get_entity(tenant, EntityKind::Classes, class).await? else {
        return Ok(ClassVerdict::ClassMissing);
    };
    if let Some(archive) = record.archive {
        return Ok(ClassVerdict::ClassArchived { archive });
    }
    let ids: Vec<String> = record
        .sis
        .list("termSourcedIds")
        .into_iter()
        .map(String::from)
        .collect();
    let mut terms = Vec::new();
    for term in &ids {
        if !sessions.contains_key(term) {
            let dates = session_dates(store, tenant, term).await?;
            sessions.insert(term.clone(), dates);
        }
        let (start, end) = sessions[term];
        terms.push(TermDates {
            term: term.clone(),
            start,
            end,
        });
    }
    Ok(if class_is_current(&ids, sessions, today) {
        ClassVerdict::Listed { terms }
    } else {
        ClassVerdict::NotCurrent { terms }
    })
}

/// A session's `(startDate, endDate)`, archived or not; `(None, None)` when
/// the store does not have it.
async fn session_dates<S: Records>(
    store: &S,
    tenant: &str,
    session: &str,
) -> Result<(Option<NaiveDate>, Option<NaiveDate>), StoreError> {
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

/// How many re-keys a sign-in follows from an old sourcedId (a chain longer
/// than this is a loop, never a real history).
const MAX_REKEY_HOPS: usize = 8;

/// The user `id` of `tenant` as it is now: the record under that id, or,
/// when it was archived as re-keyed (the district gave the person a new
/// sourcedId), the record it carries on under.
/// The second value says whether a re-key was followed.
pub async fn current_user<S: Records>(
    store: &S,
    tenant: &str,
    id: &str,
) -> StoreResult<Option<(StoredEntity, bool)>> {
    let Some(mut user) = store.get_entity(tenant, EntityKind::Users, id).await? else {
        return Ok(None);
    };
    let mut followed = false;
    for _ in 0..MAX_REKEY_HOPS {
        // Only from a record archived as re-keyed: a link is written before
        // the archive, and a record the district delivers again is its own.
        let rekeyed = user
            .archive
            .as_ref()
            .is_some_and(|a| a.reason == Some(crate::store::ArchiveReason::Rekeyed));
        let Some(next) = user.rekey.rekeyed_to.clone().filter(|_| rekeyed) else {
            break;
        };
        match store.get_entity(tenant, EntityKind::Users, &next).await? {
            Some(newer) => {
                user = newer;
                followed = true;
            }
            None => break,
        }
    }
    Ok(Some((user, followed)))
}
