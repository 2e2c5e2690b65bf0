//! A command-line binary (rosterctl) run as an operator runs it: the real
//! binary, in a working folder, optionally against the local emulators; its
//! exit code, stdout and stderr.
//!
//! CLI integration tests pass `env!("CARGO_BIN_EXE_rosterctl")`; the e2e test
//! passes [`crate::binaries::workspace_binary`]`("rosterctl")`.

use serde_json::Value;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// How to run the binary: its path, working folder and environment.
#[derive(Debug, Clone)]
pub struct Cli {
    program: PathBuf,
    dir: Option<PathBuf>,
    aws: bool,
    env: Vec<(OsString, OsString)>,
}

/// What one run produced.
#[derive(Debug, Clone)]
pub struct Output {
    /// The exit code (a run killed by a signal panics instead).
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// stdout followed by stderr, for messages and searches over both.
    pub fn combined(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl Cli {
    /// The binary at `program`, in the test's own working folder, with the
    /// test's environment.
    pub fn new(program: impl Into<PathBuf>) -> Cli {
        Cli {
            program: program.into(),
            dir: None,
            aws: false,
            env: Vec::new(),
        }
    }

    /// Runs in `dir`.
    pub fn dir(mut self, dir: &Path) -> Cli {
        self.dir = Some(dir.to_path_buf());
        self
    }

    /// Runs against the local emulators: [`crate::aws_env`] (moto, DynamoDB
    /// Local, a region and dummy credentials).
    pub fn aws(mut self) -> Cli {
        self.aws = true;
        self
    }

    /// Sets one more environment variable.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Cli {
        self.env.push((key.into(), value.into()));
        self
    }

    fn name(&self) -> String {
        self.program
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.program.display().to_string())
    }

    /// Runs with `args` and waits for it to exit.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut command = Command::new(&self.program);
        // An operator's shell may name a real bucket: never the tests'.
        command.env_remove("ROSTER_RUN_FILES_BUCKET");
        if self.aws {
            crate::aws_env(&mut command);
        }
        if let Some(dir) = &self.dir {
            command.current_dir(dir);
        }
        command.envs(self.env.iter().map(|(k, v)| (k, v)));
        let out = command
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{} does not run: {e}", self.program.display()));
        let name = self.name();
        Output {
            code: out
                .status
                .code()
                .unwrap_or_else(|| panic!("{name} {args:?} has no exit code: {}", out.status)),
            stdout: String::from_utf8(out.stdout)
                .unwrap_or_else(|e| panic!("{name} {args:?}: stdout is not UTF-8: {e}")),
            stderr: String::from_utf8(out.stderr)
                .unwrap_or_else(|e| panic!("{name} {args:?}: stderr is not UTF-8: {e}")),
        }
    }

    /// Runs with `args` and parses stdout as one JSON value (panicking, with
    /// stdout and stderr, when it is not): (exit code, value).
    pub fn json(&self, args: &[&str]) -> (i32, Value) {
        let out = self.run(args);
        let value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{} {args:?}: not JSON ({e}): {}{}",
                self.name(),
                out.stdout,
                out.stderr
            )
        });
        (out.code, value)
    }
}
