//! The workspace's own binaries, for tests of another package (the e2e test)
//! that cannot use `env!("CARGO_BIN_EXE_...")`.

use std::path::PathBuf;

/// A workspace binary built by `cargo test --workspace` (`target/debug/NAME`,
/// the folder above the running test binary's `deps/`). Panics if it is not
/// built.
pub fn workspace_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().unwrap().parent().unwrap().join(name);
    assert!(
        path.is_file(),
        "{} is not built: run `cargo build --workspace` (infra/test.sh does)",
        path.display()
    );
    path
}
