//! The deletion receipt of an offboarding: what went (counts per kind),
//! what did not, when, by whom, and a SHA-256 digest of the sorted list of
//! keys deleted. Ids and counts only: no name, no email, no record content.

use roster::TenantItemKind;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Object versions under one prefix of the bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct S3Tally {
    /// Distinct object keys.
    pub objects: u64,
    /// Versions with content.
    pub versions: u64,
    /// Delete markers.
    pub delete_markers: u64,
}

impl S3Tally {
    fn is_empty(&self) -> bool {
        self.versions + self.delete_markers == 0
    }
}

/// Notice subscriptions of the tenant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SubscriptionTally {
    /// Subscriptions that admitted only the tenant: removed.
    pub unsubscribed: u64,
    /// Subscriptions of a contact of other districts too: the tenant taken out of their filter.
    pub narrowed: u64,
}

/// Everything of a tenant, counted: found, deleted or left.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Store items per kind.
    pub store_items: BTreeMap<TenantItemKind, u64>,
    /// Object versions per bucket prefix.
    pub s3: BTreeMap<String, S3Tally>,
    /// The OneRoster API secret.
    pub secret: bool,
    /// The pull schedule.
    pub schedule: bool,
    /// The Transfer Family (SFTP) user.
    pub sftp_user: bool,
    /// Notice subscriptions.
    pub subscriptions: SubscriptionTally,
    /// Files under the local runs folder.
    pub local_files: u64,
}

impl Tally {
    /// Whether it counts nothing at all.
    pub fn is_empty(&self) -> bool {
        self.store_items.values().all(|n| *n == 0)
            && self.s3.values().all(S3Tally::is_empty)
            && !self.secret
            && !self.schedule
            && !self.sftp_user
            && self.subscriptions == SubscriptionTally::default()
            && self.local_files == 0
    }
}

/// The SHA-256 (hex) of `keys` sorted, each followed by a newline.
pub fn digest(keys: &[String]) -> String {
    let mut sorted: Vec<&String> = keys.iter().collect();
    sorted.sort();
    let mut hasher = Sha256::new();
    for key in sorted {
        hasher.update(key.as_bytes());
        hasher.update(b"\n");
    }
    hasher
        .finalize()
        .iter()
        .fold(String::with_capacity(64), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
}

/// The receipt.
#[derive(Debug, Clone, Serialize)]
pub struct Receipt {
    /// Always `offboarding`.
    pub receipt: &'static str,
    /// The tenant id.
    pub tenant: String,
    /// Who ran it (`--by`).
    pub by: String,
    /// When it began and ended (UTC).
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// When it ended (UTC).
    pub finished_at: chrono::DateTime<chrono::Utc>,
    /// The store (`dynamodb` or `sqlite`).
    pub store: String,
    /// Whether everything found was deleted.
    pub complete: bool,
    /// What was deleted.
    pub deleted: Tally,
    /// What was found and not deleted (empty when complete).
    pub not_deleted: Tally,
    /// Why not (ids and AWS error codes; no content).
    pub errors: Vec<String>,
    /// How many keys were deleted.
    pub keys_deleted: u64,
    /// SHA-256 of the sorted list of the keys deleted (one a line).
    pub keys_sha256: String,
    /// Where the receipt is kept (`None`: it could not be stored).
    pub stored_at: Option<String>,
}

/// One line per non-zero count of `tally`, indented.
pub fn render_tally(tally: &Tally) -> String {
    let mut out = String::new();
    for (kind, n) in tally.store_items.iter().filter(|(_, n)| **n > 0) {
        let _ = writeln!(out, "  store {:<18} {n}", kind.as_str());
    }
    for (prefix, t) in tally.s3.iter().filter(|(_, t)| !t.is_empty()) {
        let _ = writeln!(
            out,
            "  s3 {prefix}: {} objects, {} versions, {} delete markers",
            t.objects, t.versions, t.delete_markers
        );
    }
    for (what, yes) in [
        ("API secret", tally.secret),
        ("pull schedule", tally.schedule),
        ("SFTP user", tally.sftp_user),
    ] {
        if yes {
            let _ = writeln!(out, "  {what}");
        }
    }
    let s = tally.subscriptions;
    if s != SubscriptionTally::default() {
        let _ = writeln!(
            out,
            "  notice subscriptions: {} removed, {} other districts' kept without this one",
            s.unsubscribed, s.narrowed
        );
    }
    if tally.local_files > 0 {
        let _ = writeln!(out, "  local run files        {}", tally.local_files);
    }
    if out.is_empty() {
        out.push_str("  nothing\n");
    }
    out
}

impl Receipt {
    /// The receipt for people.
    pub fn render(&self) -> String {
        let mut out = format!(
            "offboarding of tenant {}: {}\n",
            self.tenant,
            if self.complete {
                "complete"
            } else {
                "INCOMPLETE"
            }
        );
        let _ = writeln!(
            out,
            "by {} ({} store), {} to {} UTC",
            self.by,
            self.store,
            self.started_at.format("%Y-%m-%d %H:%M:%S"),
            self.finished_at.format("%H:%M:%S")
        );
        out.push_str("deleted:\n");
        out.push_str(&render_tally(&self.deleted));
        if !self.complete {
            out.push_str("NOT deleted:\n");
            out.push_str(&render_tally(&self.not_deleted));
            for e in &self.errors {
                let _ = writeln!(out, "  error: {e}");
            }
            out.push_str("run the same command again to finish\n");
        }
        let _ = writeln!(
            out,
            "{} keys deleted, SHA-256 of their sorted list: {}",
            self.keys_deleted, self.keys_sha256
        );
        match &self.stored_at {
            Some(at) => {
                let _ = writeln!(out, "receipt kept at {at}");
            }
            None => out.push_str("receipt NOT stored (see the error above): keep this output\n"),
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_is_of_the_sorted_keys_one_a_line() {
        // printf 'a\nb\n' | sha256sum
        let sorted = "911169ddaaf146aff539f58c26c489af3b892dff0fe283c1c264c65ae5aa59a2";
        assert_eq!(digest(&["b".to_string(), "a".to_string()]), sorted);
        assert_eq!(digest(&["a".to_string(), "b".to_string()]), sorted);
        assert_ne!(digest(&["a".to_string()]), sorted);
        // printf '' | sha256sum
        assert_eq!(
            digest(&[]),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn an_empty_tally_is_nothing_and_any_count_is_something() {
        let mut t = Tally::default();
        t.s3.insert("inbound/d1/".into(), S3Tally::default());
        t.store_items.insert(TenantItemKind::Records, 0);
        assert!(t.is_empty());
        assert_eq!(render_tally(&t), "  nothing\n");
        t.subscriptions.narrowed = 1;
        assert!(!t.is_empty());
        let mut t = Tally::default();
        t.store_items.insert(TenantItemKind::Records, 3);
        t.s3.insert(
            "inbound/d1/".into(),
            S3Tally {
                objects: 1,
                versions: 2,
                delete_markers: 1,
            },
        );
        t.secret = true;
        let text = render_tally(&t);
        assert!(text.contains("store records"), "{text}");
        assert!(
            text.contains("s3 inbound/d1/: 1 objects, 2 versions, 1 delete markers"),
            "{text}"
        );
        assert!(
            text.contains("API secret") && !text.contains("SFTP user"),
            "{text}"
        );
    }
}
