//! Re-keys at the command line: `runs show RUN --rekey FILE` writes a held
//! run's proposed mapping (old → new sourcedIds and the key that matched;
//! ids only) for the district to check, and `runs approve RUN --rekey
//! [FILE]` approves with the proposal or a corrected file.

use roster::engine::RekeyChoice;
use roster::rekey::{read_mapping, write_mapping, Pair};
use roster::roles::*;
use std::path::{Path, PathBuf};

/// The proposed pairs of held run `run_id` (its mapping file, local or in S3).
pub async fn proposed_pairs<S: Store>(store: &S, run_id: &str) -> Result<Vec<Pair>, String> {
    let run = store
        .get_run(run_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no run {run_id} (`rosterctl runs list` shows the recent runs)"))?;
    let Some(reference) = run.rekey.and_then(|r| r.mapping_ref) else {
        return Err(format!(
            "run {run_id} has no proposed re-key (it is proposed when a held delivery archives many users and inserts about as many); give a mapping file: `--rekey map.csv`"
        ));
    };
    if reference.starts_with("s3://") {
        let local = crate::runs_cmd::fetch_s3(&reference).await?;
        read_mapping(&local)
    } else {
        read_mapping(Path::new(&reference))
    }
}

/// `runs show RUN --rekey FILE`: writes the proposal to `path`; how many pairs.
pub async fn write_proposal<S: Store>(
    store: &S,
    run_id: &str,
    path: &Path,
) -> Result<usize, String> {
    let pairs = proposed_pairs(store, run_id).await?;
    write_mapping(path, &pairs).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(pairs.len())
}

/// What `runs approve --rekey [FILE]` asks: nothing (no flag), the
/// proposal (the flag alone), or the pairs of a corrected file.
pub async fn choice<S: Store>(
    store: &S,
    run_id: &str,
    rekey: &Option<Option<PathBuf>>,
) -> Result<RekeyChoice, String> {
    match rekey {
        None => Ok(RekeyChoice::No),
        Some(None) => proposed_pairs(store, run_id)
            .await
            .map(RekeyChoice::Mapping),
        Some(Some(file)) => read_mapping(file).map(RekeyChoice::Mapping),
    }
}
