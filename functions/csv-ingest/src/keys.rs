//! Object keys: decoding what S3 events carry, finding the tenant, and where
//! objects go after a run. Pure functions.

use percent_encoding::percent_decode_str;

/// Where ClassLink's uploads land: `inbound/{tenant}/...`.
pub const INBOUND: &str = "inbound/";

/// Decodes an S3 event key: `+` is a space, `%xx` a byte (UTF-8).
pub fn decode_event_key(raw: &str) -> Result<String, String> {
    let plus_decoded = raw.replace('+', " ");
    percent_decode_str(&plus_decoded)
        .decode_utf8()
        .map(|k| k.into_owned())
        .map_err(|_| format!("object key `{raw}` does not decode to UTF-8"))
}

/// A key under `inbound/`, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundKey {
    /// The tenant (first segment after `inbound/`), as given.
    pub tenant: String,
    /// The folder holding the object (`inbound/{tenant}/` or deeper), with a trailing `/`.
    pub folder: String,
    /// The object's file name.
    pub file_name: String,
}

/// What kind of upload an object is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upload {
    /// A whole package.
    Zip,
    /// One file of a loose-file package.
    Csv,
    /// Anything else.
    Other,
}

impl InboundKey {
    /// Splits `inbound/{tenant}/.../{file}`; `None` for keys elsewhere or folders.
    pub fn parse(key: &str) -> Option<InboundKey> {
        let rest = key.strip_prefix(INBOUND)?;
        let (tenant, _) = rest.split_once('/')?;
        let (folder, file_name) = key.rsplit_once('/')?;
        if tenant.is_empty() || file_name.is_empty() {
            return None;
        }
        Some(InboundKey {
            tenant: tenant.to_string(),
            folder: format!("{folder}/"),
            file_name: file_name.to_string(),
        })
    }

    /// The kind of upload, by extension.
    pub fn upload(&self) -> Upload {
        let lower = self.file_name.to_ascii_lowercase();
        if lower.ends_with(".zip") {
            Upload::Zip
        } else if lower.ends_with(".csv") {
            Upload::Csv
        } else {
            Upload::Other
        }
    }

    /// Where this object goes after a run: `{outcome}/{tenant}/{run}/` plus the
    /// path below the tenant's folder (kept, so nothing collides).
    pub fn destination(&self, key: &str, outcome: Outcome, run: &str) -> String {
        let below = key
            .strip_prefix(INBOUND)
            .and_then(|r| r.split_once('/'))
            .map(|(_, below)| below)
            .unwrap_or(&self.file_name);
        format!("{}{below}", outcome.run_folder(&self.tenant, run))
    }
}

/// Where a run's objects end up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Applied, held, stale, or with nothing to apply: kept for replay.
    Processed,
    /// Rejected (bad package, unknown tenant, not a package, incomplete set).
    Rejected,
}

impl Outcome {
    /// The folder of `tenant`'s run `run` under this outcome, with its trailing `/`:
    /// `processed/{tenant}/{run}/`.
    pub fn run_folder(self, tenant: &str, run: &str) -> String {
        format!("{}{}/{run}/", self.prefix(), safe_segment(tenant))
    }

    /// The prefix, with its trailing `/`.
    pub fn prefix(self) -> &'static str {
        match self {
            Outcome::Processed => "processed/",
            Outcome::Rejected => "rejected/",
        }
    }
}

/// A tenant segment that is safe in a key even when the tenant is unknown/invalid.
pub fn safe_segment(tenant: &str) -> String {
    let cleaned: String = tenant
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if cleaned.is_empty() {
        "_".into()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_keys_decode_plus_and_percent() {
        assert_eq!(
            decode_event_key("inbound/d1/My+Export%282%29.zip").unwrap(),
            "inbound/d1/My Export(2).zip"
        );
        assert_eq!(
            decode_event_key("inbound/d1/a%2Bb.zip").unwrap(),
            "inbound/d1/a+b.zip"
        );
        assert_eq!(
            decode_event_key("inbound/d1/%C3%A9t%C3%A9.csv").unwrap(),
            "inbound/d1/été.csv"
        );
        assert!(decode_event_key("inbound/d1/%FF.zip").is_err());
    }

    #[test]
    fn inbound_keys_split_into_tenant_folder_and_file() {
        let k = InboundKey::parse("inbound/d1/2026-11-28/users.csv").unwrap();
        assert_eq!(k.tenant, "d1");
        assert_eq!(k.folder, "inbound/d1/2026-11-28/");
        assert_eq!(k.upload(), Upload::Csv);
        assert_eq!(
            InboundKey::parse("inbound/d1/x.ZIP").unwrap().upload(),
            Upload::Zip
        );
        assert_eq!(
            InboundKey::parse("inbound/d1/notes.txt").unwrap().upload(),
            Upload::Other
        );
        assert!(InboundKey::parse("processed/d1/x.zip").is_none());
        assert!(InboundKey::parse("inbound/d1/").is_none());
        assert!(InboundKey::parse("inbound/x.zip").is_none());
    }

    #[test]
    fn destinations_keep_the_path_below_the_tenant() {
        let key = "inbound/d1/2026/users.csv";
        let k = InboundKey::parse(key).unwrap();
        assert_eq!(
            k.destination(key, Outcome::Processed, "r1"),
            "processed/d1/r1/2026/users.csv"
        );
        let odd = "inbound/../evil/x.zip";
        let k = InboundKey::parse(odd).unwrap();
        assert_eq!(
            k.destination(odd, Outcome::Rejected, "r2"),
            "rejected/__/r2/evil/x.zip"
        );
    }
}
