//! The process a local run runs in, and how to tell it has gone (Linux
//! `/proc`).

use serde::{Deserialize, Serialize};

/// A process on a machine: where a local run runs.
///
/// A host name alone does not name a machine (containers share theirs, and
/// two laptops may have the same default one), nor a process id a process
/// (each PID namespace has its own, and ids are reused): a process is judged
/// gone only when the kernel's boot id and the PID namespace are both ours,
/// and its id names no process started when it was (Linux `/proc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunProcess {
    /// The machine's host name (for people; never enough to judge by).
    pub host: String,
    /// The process id.
    pub pid: u32,
    /// The running kernel's boot id (`/proc/sys/kernel/random/boot_id`):
    /// the same only on the same machine since the same boot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_id: Option<String>,
    /// The process's PID namespace (`/proc/self/ns/pid`, `pid:[inode]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid_namespace: Option<String>,
    /// When the process started, in clock ticks since boot (`/proc/PID/stat`
    /// field 22): a reused process id has another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<u64>,
}

impl RunProcess {
    /// This process (`None` where it cannot be identified: not Linux, or no
    /// readable `/proc`).
    pub fn current() -> Option<RunProcess> {
        let pid = std::process::id();
        Some(RunProcess {
            host: proc_text("/proc/sys/kernel/hostname")?,
            pid,
            boot_id: Some(proc_text("/proc/sys/kernel/random/boot_id")?),
            pid_namespace: Some(pid_namespace()?),
            started: Some(process_start(pid)?),
        })
    }

    /// Whether this is a process of this very machine, boot and PID
    /// namespace (`this_machine`, as [`RunProcess::current`] sees it) that no
    /// longer runs. Anything this process cannot prove is never gone: a
    /// process elsewhere, in another namespace, or recorded without a boot
    /// id or namespace (older runs); its lease is then waited out.
    pub fn is_gone_from(&self, this_machine: &RunProcess) -> bool {
        let same = |a: &Option<String>, b: &Option<String>| a.is_some() && a == b;
        if self.host != this_machine.host
            || !same(&self.boot_id, &this_machine.boot_id)
            || !same(&self.pid_namespace, &this_machine.pid_namespace)
        {
            return false;
        }
        match (process_start(self.pid), self.started) {
            // No such process, where /proc shows this one.
            (None, _) => proc_readable(),
            // The id now names a process started at another time.
            (Some(now), Some(then)) => now != then,
            (Some(_), None) => false,
        }
    }
}

/// A `/proc` file's text, trimmed (`None`: unreadable or empty).
fn proc_text(path: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// This process's PID namespace, as the kernel names it (`pid:[4026531836]`).
fn pid_namespace() -> Option<String> {
    let target = std::fs::read_link("/proc/self/ns/pid").ok()?;
    let name = target.to_str()?.to_string();
    name.starts_with("pid:").then_some(name)
}

/// Whether `/proc` shows this process (so a missing entry means a gone one).
fn proc_readable() -> bool {
    process_start(std::process::id()).is_some()
}

/// When process `pid` started (clock ticks since boot), `None` when no such
/// process is visible in `/proc`.
fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    start_time_of_stat(&stat)
}

/// Field 22 (`starttime`) of a `/proc/PID/stat` line. The second field, the
/// command in parentheses, may hold spaces and parentheses itself: fields
/// are counted from the last `)`.
fn start_time_of_stat(stat: &str) -> Option<u64> {
    let after_command = &stat[stat.rfind(')')? + 1..];
    // Field 3 (state) is the first after the command.
    after_command.split_whitespace().nth(22 - 3)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exited_child() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    #[test]
    fn a_process_is_gone_only_when_it_is_of_this_machine_and_has_exited() {
        let me = RunProcess::current().expect("this process, from /proc");
        assert!(!me.is_gone_from(&me), "this process exists");
        let dead = RunProcess {
            pid: exited_child(),
            started: Some(1),
            ..me.clone()
        };
        assert!(dead.is_gone_from(&me), "an exited child is gone");
        let elsewhere = RunProcess {
            host: format!("{}-other", me.host),
            ..dead.clone()
        };
        assert!(
            !elsewhere.is_gone_from(&me),
            "another machine's is never gone"
        );
    }

    #[test]
    fn the_same_host_name_in_another_boot_or_pid_namespace_is_never_judged_gone() {
        let me = RunProcess::current().expect("this process, from /proc");
        let dead = RunProcess {
            pid: exited_child(),
            ..me.clone()
        };
        let other_namespace = RunProcess {
            pid_namespace: Some("pid:[1]".into()),
            ..dead.clone()
        };
        assert!(
            !other_namespace.is_gone_from(&me),
            "a container's process, same host name"
        );
        let other_boot = RunProcess {
            boot_id: Some("00000000-0000-0000-0000-000000000000".into()),
            ..dead.clone()
        };
        assert!(!other_boot.is_gone_from(&me), "another machine, same name");
        let recorded_before_ids = RunProcess {
            boot_id: None,
            pid_namespace: None,
            started: None,
            ..dead.clone()
        };
        assert!(
            !recorded_before_ids.is_gone_from(&me),
            "a run recorded with a host name and pid only is waited out"
        );
        let reused = RunProcess {
            pid: me.pid,
            started: me.started.map(|t| t + 1),
            ..me.clone()
        };
        assert!(
            reused.is_gone_from(&me),
            "a pid now naming a process started at another time"
        );
    }

    #[test]
    fn the_start_time_is_field_22_counted_after_the_command() {
        let stat = "4242 (a (weird) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
        assert_eq!(start_time_of_stat(stat), Some(987_654));
        assert_eq!(start_time_of_stat("4242 (cut"), None);
        assert_eq!(start_time_of_stat("4242 (short) S 1"), None);
    }
}
