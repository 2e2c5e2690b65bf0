//! What people read about a run, rendered from typed values: the report page
//! a district's data manager opens (`report.html`), the notice its contacts
//! get by email, the per-run summary and metrics log lines, and progress as
//! log lines. The engine (`roster`) and the reader (`oneroster`) produce the
//! values; this crate only presents them, and neither depends on it.

pub mod explain;
pub mod notice;
pub mod progress_log;
pub mod report_page;
pub mod run_log;
