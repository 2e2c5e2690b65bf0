//! Where a run keeps its files: the full validation report and the plan of a
//! held run. Locally a folder (`runs/{tenant}/{run_id}/`); in Lambda, S3.

use std::path::{Path, PathBuf};

/// Storage for run files.
pub trait Artifacts: Send + Sync {
    /// A local path where the run may write `name` (e.g. `plan.jsonl`).
    fn scratch(&self, tenant: &str, run_id: &str, name: &str) -> std::io::Result<PathBuf>;
    /// Keeps a file written at `path` for later; returns its reference.
    fn keep(&self, tenant: &str, run_id: &str, name: &str, path: &Path) -> std::io::Result<String>;
    /// Makes a kept file available locally; returns its path.
    fn fetch(&self, reference: &str) -> std::io::Result<PathBuf>;
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

    fn fetch(&self, reference: &str) -> std::io::Result<PathBuf> {
        let path = PathBuf::from(reference);
        if path.is_file() {
            Ok(path)
        } else {
            Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("run file `{reference}` is gone"),
            ))
        }
    }
}
