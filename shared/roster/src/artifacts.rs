//! Where a run keeps its files: the full validation report and the plan of a
//! held run. Locally a folder (`runs/{tenant}/{run_id}/`); in Lambda, S3 beside
//! the delivery's `report.json`, written by csv-ingest and fetched by `rosterctl
//! runs approve` (`cloud::s3`) into a [`Prefetched`] set before the engine reads it.
//! A file the tenant's state names for the next run (a re-key in progress)
//! must outlive the process that wrote it: [`Artifacts::keep_lasting`].

use std::future::Future;
use std::path::{Path, PathBuf};

/// Storage for run files.
pub trait Artifacts: Send + Sync {
    /// A local path where the run may write `name` (e.g. `plan.jsonl`).
    fn scratch(&self, tenant: &str, run_id: &str, name: &str) -> std::io::Result<PathBuf>;
    /// Keeps a file written at `path` for later; returns its reference.
    fn keep(&self, tenant: &str, run_id: &str, name: &str, path: &Path) -> std::io::Result<String>;
    /// Makes a kept file available locally; returns its path.
    fn fetch(&self, reference: &str) -> std::io::Result<PathBuf>;

    /// Keeps a file that a later run, perhaps in another process or on
    /// another machine, must read (the tenant's state names it), where that
    /// run can; returns its reference. By default [`Self::keep`]: a local
    /// folder outlives the process.
    fn keep_lasting(
        &self,
        tenant: &str,
        run_id: &str,
        name: &str,
        path: &Path,
    ) -> impl Future<Output = std::io::Result<String>> + Send {
        std::future::ready(self.keep(tenant, run_id, name, path))
    }

    /// Makes a file [`Self::keep_lasting`] kept (perhaps in another process)
    /// available locally; returns its path. By default [`Self::fetch`].
    fn fetch_lasting(
        &self,
        reference: &str,
    ) -> impl Future<Output = std::io::Result<PathBuf>> + Send {
        std::future::ready(self.fetch(reference))
    }
}

/// Run files in a local folder.
pub struct LocalArtifacts {
    dir: PathBuf,
}

impl LocalArtifacts {
    /// Run files under `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> LocalArtifacts {
        LocalArtifacts { dir: dir.into() }
    }

    /// The folder the run files are under.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The tenant's run folders (validation reports, held plans,
    /// before-images) of runs that started before `before`, by the time in
    /// their run ids, sorted; folders not named by a run id are not listed.
    pub fn runs_before(
        &self,
        tenant: &str,
        before: chrono::DateTime<chrono::Utc>,
    ) -> std::io::Result<Vec<String>> {
        let dir = self.dir.join(tenant);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut old = Vec::new();
        for entry in entries {
            let entry = entry?;
            let Some(name) = entry.file_name().to_str().map(String::from) else {
                continue;
            };
            let started = crate::run::run_id_time(&name);
            if entry.file_type()?.is_dir() && started.is_some_and(|t| t < before) {
                old.push(name);
            }
        }
        old.sort();
        Ok(old)
    }

    /// Deletes the run folders [`LocalArtifacts::runs_before`] lists; the
    /// run ids whose folders were deleted.
    pub fn remove_runs_before(
        &self,
        tenant: &str,
        before: chrono::DateTime<chrono::Utc>,
    ) -> std::io::Result<Vec<String>> {
        let old = self.runs_before(tenant, before)?;
        for run in &old {
            std::fs::remove_dir_all(self.dir.join(tenant).join(run))?;
        }
        Ok(old)
    }
}

impl Artifacts for LocalArtifacts {
    fn scratch(&self, tenant: &str, run_id: &str, name: &str) -> std::io::Result<PathBuf> {
        let dir = self.dir.join(tenant).join(run_id);
        std::fs::create_dir_all(&dir)?;
        Ok(dir.join(name))
    }

    fn keep(&self, tenant: &str, run_id: &str, name: &str, path: &Path) -> std::io::Result<String> {
        let target = self.scratch(tenant, run_id, name)?;
        if target != path {
            std::fs::copy(path, &target)?;
        }
        Ok(target.display().to_string())
    }

    /// A local file; one in S3 is an error of its own (not "gone": a
    /// re-key's pairs it names must not be given up).
    fn fetch(&self, reference: &str) -> std::io::Result<PathBuf> {
        let path = PathBuf::from(reference);
        if path.is_file() {
            Ok(path)
        } else if reference.starts_with("s3://") {
            Err(in_s3(reference))
        } else {
            Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("run file `{reference}` is gone"),
            ))
        }
    }
}

/// Run files fetched beforehand (a held plan downloaded from S3): the engine
/// reads them by their references (local ones as they are); new files go
/// to a scratch folder.
pub struct Prefetched {
    files: Vec<(String, PathBuf)>,
    scratch: PathBuf,
}

impl Prefetched {
    /// `files` as (reference, local path); new files under `scratch`.
    pub fn new(files: Vec<(String, PathBuf)>, scratch: impl Into<PathBuf>) -> Prefetched {
        Prefetched {
            files,
            scratch: scratch.into(),
        }
    }
}

impl Artifacts for Prefetched {
    fn scratch(&self, tenant: &str, run_id: &str, name: &str) -> std::io::Result<PathBuf> {
        let dir = self.scratch.join(tenant).join(run_id);
        std::fs::create_dir_all(&dir)?;
        Ok(dir.join(name))
    }

    fn keep(
        &self,
        _tenant: &str,
        _run_id: &str,
        _name: &str,
        path: &Path,
    ) -> std::io::Result<String> {
        Ok(path.display().to_string())
    }

    /// A fetched file, or a local file as it is (another run's, kept on
    /// this machine).
    fn fetch(&self, reference: &str) -> std::io::Result<PathBuf> {
        let local = || Some(PathBuf::from(reference)).filter(|p| p.is_file());
        self.files
            .iter()
            .find(|(r, _)| r == reference)
            .map(|(_, p)| p.clone())
            .or_else(|| local().filter(|_| !reference.starts_with("s3://")))
            .ok_or_else(|| match reference.starts_with("s3://") {
                true => in_s3(reference),
                false => std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("run file `{reference}` was not fetched"),
                ),
            })
    }
}

/// A run file in S3 that was not fetched beforehand: not known to be gone.
fn in_s3(reference: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        format!("run file `{reference}` is in S3 and was not fetched (it is not known to be gone); run this where the deployment's run files in S3 can be read"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run file kept in S3 that this process did not fetch is not told as
    /// gone: a re-key's pairs it names are then kept, not given up.
    #[test]
    fn a_file_in_s3_not_fetched_is_not_gone() {
        let dir = tempfile::tempdir().unwrap();
        let reference = "s3://bucket/processed/d1/run/rekey-in-progress.json";
        let local = LocalArtifacts::new(dir.path())
            .fetch(reference)
            .unwrap_err();
        let prefetched = Prefetched::new(Vec::new(), dir.path()).fetch(reference);
        for error in [local, prefetched.unwrap_err()] {
            assert_eq!(error.kind(), std::io::ErrorKind::Unsupported, "{error}");
        }
        let missing = dir.path().join("gone.json").display().to_string();
        let gone = LocalArtifacts::new(dir.path()).fetch(&missing).unwrap_err();
        assert_eq!(gone.kind(), std::io::ErrorKind::NotFound);
    }

    #[test]
    fn only_run_folders_older_than_the_cutoff_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let runs = LocalArtifacts::new(dir.path());
        for name in ["20250101T000000000Z-aa", "20270101T000000000Z-bb", "notes"] {
            std::fs::create_dir_all(dir.path().join("d1").join(name)).unwrap();
            std::fs::write(dir.path().join("d1").join(name).join("report.json"), "{}").unwrap();
        }
        std::fs::create_dir_all(dir.path().join("d2").join("20250101T000000000Z-cc")).unwrap();
        let cutoff = "2026-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(
            runs.remove_runs_before("d1", cutoff).unwrap(),
            ["20250101T000000000Z-aa"]
        );
        assert!(!dir.path().join("d1/20250101T000000000Z-aa").exists());
        assert!(dir
            .path()
            .join("d1/20270101T000000000Z-bb/report.json")
            .exists());
        assert!(dir.path().join("d1/notes").exists());
        assert!(
            dir.path().join("d2/20250101T000000000Z-cc").exists(),
            "another tenant's"
        );
        assert!(runs
            .remove_runs_before("nobody", cutoff)
            .unwrap()
            .is_empty());
    }
}
