//! The stack's stateful resources on the local emulators, created from
//! template.yaml's own definitions by `infra/local/resources.py`.

use crate::servers::repo_root;
use std::process::Command;

/// The Python with cfn-lint and boto3 that runs `infra/local/resources.py`
/// (`ROSTER_TEMPLATE_PYTHON`).
pub fn python() -> String {
    std::env::var("ROSTER_TEMPLATE_PYTHON").unwrap_or_else(|_| {
        panic!("ROSTER_TEMPLATE_PYTHON is not set: run the suite with infra/test.sh (its template venv has cfn-lint and boto3)")
    })
}

/// Creates template.yaml's `RosterTable` as `table` on DynamoDB Local and its
/// `InboundBucket` as `bucket` on moto. Panics, with the script's stderr, if
/// it fails.
pub fn create_resources(table: &str, bucket: &str) {
    let created = Command::new(python())
        .current_dir(repo_root())
        .args(["infra/local/resources.py", "--dynamodb", &crate::dynamodb()])
        .args([
            "--moto",
            &crate::moto(),
            "--table",
            table,
            "--bucket",
            bucket,
        ])
        .output()
        .unwrap_or_else(|e| panic!("cannot run infra/local/resources.py: {e}"));
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
}
