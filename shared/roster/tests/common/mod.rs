//! Shared test support: the two stores (SQLite in memory; DynamoDB Local on
//! the endpoint infra/test.sh starts), a small district builder, and a store
//! that fails after N writes (to kill a run halfway).
#![allow(dead_code)]

use chrono::{DateTime, Datelike, Duration as Days, NaiveDate, Utc};
use oneroster::EntityKind;
use roster::*;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub fn sqlite() -> SqliteStore {
    SqliteStore::in_memory().expect("in-memory SQLite")
}

/// A DynamoDB store on a fresh table of DynamoDB Local
/// (`testkit::dynamo_store`). Fails loudly when the emulator is not
/// configured: tests never pass by skipping.
pub async fn dynamo() -> DynamoStore {
    testkit::dynamo_store("roster-test").await
}

/// A small district: one school, classes of students, one teacher per class, an administrator.
#[derive(Clone)]
pub struct District {
    pub students: Vec<Student>,
    pub classes: usize,
    pub admin_given_name: String,
    pub extra_users: String,
    pub extra_enrollments: String,
    pub manifest_modes: Vec<(&'static str, &'static str)>,
    pub omit: Vec<&'static str>,
    /// The school year (the year it ends in). `None`, the default: the
    /// current one, whatever today is (it began 120 days ago and ends in 240),
    /// with the ids the tests have always used (`y1`, `cl-0`, `en-t0`), so
    /// that no test changes its meaning with the calendar. `Some(year)`: that
    /// year (1 August to 30 June), with its own session, class and enrollment
    /// ids, as after a rollover.
    pub school_year: Option<u32>,
    /// Files written with this text instead of the district's own.
    pub replace: Vec<(&'static str, String)>,
}

#[derive(Clone)]
pub struct Student {
    pub id: String,
    pub given: String,
    pub class: usize,
    /// The username (single sign-on matches on it); the sourcedId unless set.
    pub username: String,
}

impl District {
    pub fn new(students: usize, classes: usize) -> District {
        District {
            students: (0..students)
                .map(|i| Student {
                    id: format!("stu-{i:04}"),
                    given: format!("Given{i}"),
                    class: i % classes,
                    username: format!("stu-{i:04}"),
                })
                .collect(),
            classes,
            admin_given_name: "Ada".into(),
            extra_users: String::new(),
            extra_enrollments: String::new(),
            manifest_modes: Vec::new(),
            omit: Vec::new(),
            school_year: None,
            replace: Vec::new(),
        }
    }

    /// The same district with `file` written as `text`.
    pub fn with_file(mut self, file: &'static str, text: impl Into<String>) -> District {
        self.replace.retain(|(f, _)| *f != file);
        self.replace.push((file, text.into()));
        self
    }

    /// The same district in school year `year` (see [`District::school_year`]).
    pub fn in_school_year(mut self, year: u32) -> District {
        self.school_year = Some(year);
        self
    }

    /// The suffix of this year's session, class and enrollment ids.
    fn year_suffix(&self) -> String {
        match self.school_year {
            None => String::new(),
            Some(year) => format!("-{year}"),
        }
    }

    /// The school year's `(startDate, endDate, schoolYear)`.
    fn school_year_dates(&self) -> (NaiveDate, NaiveDate, i32) {
        match self.school_year {
            None => {
                let today = Utc::now().date_naive();
                let end = today + Days::days(240);
                (today - Days::days(120), end, end.year())
            }
            Some(y) => {
                let y = y as i32;
                let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
                (date(y - 1, 8, 1), date(y, 6, 30), y)
            }
        }
    }

    /// sourcedId of class `c` in this school year.
    pub fn class_id(&self, c: usize) -> String {
        format!("cl-{c}{}", self.year_suffix())
    }

    /// sourcedId of this school year's session.
    pub fn session_id(&self) -> String {
        match self.school_year {
            None => "y1".to_string(),
            Some(year) => format!("y{year}"),
        }
    }

    pub fn mode(mut self, file: &'static str, mode: &'static str) -> District {
        self.manifest_modes.retain(|(f, _)| *f != file);
        self.manifest_modes.push((file, mode));
        self
    }

    /// Total records a first load inserts, per type.
    pub fn record_count(&self) -> usize {
        2 + 1
            + 1
            + self.classes
            + (self.students.len() + self.classes + 1)
            + (self.students.len() + self.classes)
    }

    pub fn write(&self, dir: &Path) -> PathBuf {
        std::fs::create_dir_all(dir).unwrap();
        let modes = [
            "orgs",
            "academicSessions",
            "courses",
            "classes",
            "users",
            "enrollments",
        ]
        .iter()
        .map(|f| {
            let mode = self
                .manifest_modes
                .iter()
                .find(|(m, _)| m == f)
                .map(|(_, m)| *m)
                .unwrap_or("bulk");
            format!("file.{f},{mode}\n")
        })
        .collect::<String>();
        let files = [
            ("manifest.csv", format!("propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\n{modes}")),
            ("orgs.csv", "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\nd1,active,,District,district,,\ns1,active,,School,school,,d1\n".to_string()),
            ("academicSessions.csv", {
                let (start, end, y) = self.school_year_dates();
                let session = self.session_id();
                format!("sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear\n{session},active,,{}-{},schoolYear,{start},{end},,{y}\n", y - 1, y % 100)
            }),
            ("courses.csv", format!("sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects,subjectCodes\nc1,active,,{},Reading,R,01,s1,,\n", self.session_id())),
            ("classes.csv", {
                let mut t = "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods\n".to_string();
                for c in 0..self.classes {
                    t.push_str(&format!("{},active,,Reading {c},01,c1,R{c},scheduled,,s1,{},,,\n", self.class_id(c), self.session_id()));
                }
                t
            }),
            ("users.csv", {
                let mut t = "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n".to_string();
                t.push_str(&format!("adm-1,active,,true,s1,administrator,ada,,{},Admin,,,ada@d.example,,,,,\n", self.admin_given_name));
                for c in 0..self.classes {
                    t.push_str(&format!("tch-{c},active,,true,s1,teacher,tch{c},,Teacher{c},Teach,,,tch{c}@d.example,,,,,\n"));
                }
                for s in &self.students {
                    t.push_str(&format!("{},active,,true,s1,student,{},,{},Stu,,,,,,,01,\n", s.id, s.username, s.given));
                }
                t.push_str(&self.extra_users);
                t
            }),
            ("enrollments.csv", {
                let mut t = "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\n".to_string();
                let suffix = self.year_suffix();
                for c in 0..self.classes {
                    t.push_str(&format!("en-t{c}{suffix},active,,{},s1,tch-{c},teacher,true,,\n", self.class_id(c)));
                }
                for s in &self.students {
                    t.push_str(&format!("en-{}{suffix},active,,{},s1,{},student,false,,\n", s.id, self.class_id(s.class), s.id));
                }
                t.push_str(&self.extra_enrollments);
                t
            }),
        ];
        for (name, text) in files {
            let text = self
                .replace
                .iter()
                .find(|(file, _)| *file == name)
                .map_or(text, |(_, text)| text.clone());
            if !self.omit.contains(&name) {
                std::fs::write(dir.join(name), text).unwrap();
            }
        }
        dir.to_path_buf()
    }
}

/// A workspace for one test: a temp dir for packages and run files.
pub struct Bench {
    pub dir: tempfile::TempDir,
    pub artifacts: LocalArtifacts,
    counter: AtomicU64,
}

impl Bench {
    pub fn new() -> Bench {
        let dir = tempfile::tempdir().unwrap();
        let artifacts = LocalArtifacts::new(dir.path().join("runs"));
        Bench {
            dir,
            artifacts,
            counter: AtomicU64::new(0),
        }
    }

    /// Writes `district` as a new package folder.
    pub fn package(&self, district: &District) -> PathBuf {
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        district.write(&self.dir.path().join(format!("pkg-{n}")))
    }
}

pub fn source(path: &Path) -> RunSource {
    RunSource {
        kind: "csv".into(),
        reference: path.display().to_string(),
    }
}

pub async fn tenant<S: Store>(store: &S, id: &str) -> TenantConfig {
    let config = TenantConfig::new(id).unwrap();
    store.put_tenant(&config).await.unwrap();
    config
}

/// Syncs a package with default options and `generated_at`.
pub async fn sync<S: Store>(
    store: &S,
    bench: &Bench,
    tenant: &TenantConfig,
    district: &District,
    generated_at: Option<DateTime<Utc>>,
) -> RunRecord {
    let path = bench.package(district);
    Engine::new(store, &bench.artifacts)
        .sync_package(
            tenant,
            &path,
            source(&path),
            generated_at.map_or_else(|| Delivered::now(None), Delivered::at),
        )
        .await
        .expect("sync completes")
}

pub fn counts(run: &RunRecord, kind: EntityKind) -> KindCounts {
    run.counts
        .get(kind.file_name())
        .copied()
        .unwrap_or_default()
}

/// Digest of every stored record of a tenant: the end state, for comparisons.
pub async fn state_of<S: Store>(store: &S, tenant: &str) -> Vec<(EntityKind, String, u64, bool)> {
    let mut out = Vec::new();
    for kind in EntityKind::ALL {
        for s in store.load_summaries(tenant, kind).await.unwrap() {
            out.push((kind, s.sourced_id.into_string(), s.digest, s.archived));
        }
    }
    out.sort();
    out
}

/// The stored record `kind` `id` of `tenant`. Panics, naming the record,
/// when it is not stored or the store cannot read it.
pub async fn entity<S: Records>(
    store: &S,
    tenant: &str,
    kind: EntityKind,
    id: &str,
) -> StoredEntity {
    store
        .get_entity(tenant, kind, id)
        .await
        .unwrap_or_else(|e| panic!("reading {kind} {id} of tenant {tenant}: {e}"))
        .unwrap_or_else(|| panic!("{kind} {id} of tenant {tenant} is not stored"))
}

/// A store that fails every write after `budget` items have been written:
/// a run killed halfway through its apply.
pub struct Faulty<S> {
    pub inner: Arc<S>,
    pub budget: AtomicU64,
    /// How long each write call waits before it writes.
    pub write_delay: Duration,
    /// Where the run's process is stopped, if it is.
    pub pause: Option<Arc<Pause>>,
    /// A teacher signing in (tenant, sourcedId, content) once a run has
    /// planned every type, before it applies: the engine asks for the
    /// Primary Administrators between the two.
    pub sign_in_after_planning: std::sync::Mutex<Option<(String, String, SisContent)>>,
    /// Whether a first load is written on the calling thread when the inner
    /// store can ([`Records::blocking`]); only [`Faulty::recording`] is.
    /// Such writes neither fail nor pause.
    pub blocking: bool,
    /// The length of each write call, in order.
    pub write_sizes: std::sync::Mutex<Vec<usize>>,
}

/// A process stopped (SIGSTOP) in the middle of its apply: the write call
/// numbered `at_write` (from 1) waits before it writes, and every lease
/// renewal waits with it, until [`Pause::resume`].
pub struct Pause {
    at_write: u64,
    writes: AtomicU64,
    state: tokio::sync::watch::Sender<PauseState>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum PauseState {
    Running,
    Stopped,
    Resumed,
}

impl Pause {
    pub fn at_write(at_write: u64) -> Arc<Pause> {
        Arc::new(Pause {
            at_write,
            writes: AtomicU64::new(0),
            state: tokio::sync::watch::channel(PauseState::Running).0,
        })
    }

    /// Waits until the process has stopped.
    pub async fn stopped(&self) {
        let mut seen = self.state.subscribe();
        seen.wait_for(|s| *s == PauseState::Stopped).await.unwrap();
    }

    /// Lets the process go on.
    pub fn resume(&self) {
        self.state.send_replace(PauseState::Resumed);
    }

    async fn on_write(&self) {
        if self.writes.fetch_add(1, Ordering::SeqCst) + 1 == self.at_write {
            self.state.send_replace(PauseState::Stopped);
        }
        self.while_stopped().await;
    }

    async fn while_stopped(&self) {
        let mut seen = self.state.subscribe();
        seen.wait_for(|s| *s != PauseState::Stopped).await.unwrap();
    }
}

impl<S: Store> Faulty<S> {
    pub fn new(inner: Arc<S>, budget: u64) -> Faulty<S> {
        Faulty {
            inner,
            budget: AtomicU64::new(budget),
            write_delay: Duration::ZERO,
            pause: None,
            sign_in_after_planning: std::sync::Mutex::new(None),
            blocking: false,
            write_sizes: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// A store that writes as the inner one does (a first load on the
    /// calling thread, when it can) and keeps the length of each write call
    /// in [`Faulty::write_sizes`]; it never fails.
    pub fn recording(inner: Arc<S>) -> Faulty<S> {
        Faulty {
            blocking: true,
            ..Faulty::new(inner, u64::MAX)
        }
    }

    /// The lengths of the write calls so far, in order.
    pub fn write_sizes(&self) -> Vec<usize> {
        self.write_sizes.lock().unwrap().clone()
    }

    fn inner_blocking(&self) -> &dyn BlockingRecords {
        self.inner
            .blocking()
            .expect("offered only when the inner store writes on the calling thread")
    }

    /// A store whose process stops as `pause` says, and never fails.
    pub fn pausing(inner: Arc<S>, pause: Arc<Pause>) -> Faulty<S> {
        Faulty {
            pause: Some(pause),
            ..Faulty::new(inner, u64::MAX)
        }
    }

    /// A store whose every write call takes `delay` longer, and never fails.
    pub fn slow(inner: Arc<S>, delay: Duration) -> Faulty<S> {
        Faulty {
            write_delay: delay,
            ..Faulty::new(inner, u64::MAX)
        }
    }
}

impl<S: Store> Tenants for Faulty<S> {
    async fn get_tenant(&self, t: &str) -> StoreResult<Option<TenantConfig>> {
        self.inner.get_tenant(t).await
    }

    async fn put_tenant(&self, c: &TenantConfig) -> StoreResult<()> {
        self.inner.put_tenant(c).await
    }

    async fn list_tenants(&self) -> StoreResult<Vec<TenantConfig>> {
        self.inner.list_tenants().await
    }

    async fn classlink_mapping(&self, id: &str) -> StoreResult<Option<String>> {
        self.inner.classlink_mapping(id).await
    }

    async fn get_state(&self, t: &str) -> StoreResult<TenantState> {
        self.inner.get_state(t).await
    }

    async fn put_state(&self, t: &str, s: &TenantState, l: &Lease) -> StoreResult<()> {
        self.inner.put_state(t, s, l).await
    }
}

impl<S: Store> Records for Faulty<S> {
    fn name(&self) -> &'static str {
        "faulty"
    }

    async fn load_summaries(&self, t: &str, k: EntityKind) -> StoreResult<Vec<StoredSummary>> {
        self.inner.load_summaries(t, k).await
    }

    async fn get_entity(
        &self,
        t: &str,
        k: EntityKind,
        id: &str,
    ) -> StoreResult<Option<StoredEntity>> {
        self.inner.get_entity(t, k, id).await
    }

    async fn lookup(&self, t: &str, l: &Lookup) -> StoreResult<Vec<String>> {
        self.inner.lookup(t, l).await
    }

    /// The inner store's batch when [`Faulty::recording`] (it writes as the
    /// inner store does); otherwise the port's default, 1,000, which the
    /// tests that fail or pause runs were written against.
    fn write_batch(&self) -> usize {
        if self.blocking {
            self.inner.write_batch()
        } else {
            1000
        }
    }

    fn blocking(&self) -> Option<&dyn BlockingRecords> {
        match self.inner.blocking() {
            Some(_) if self.blocking => Some(self),
            _ => None,
        }
    }

    async fn write(&self, t: &str, lease: &Lease, writes: &[EntityWrite]) -> StoreResult<u64> {
        self.write_sizes.lock().unwrap().push(writes.len());
        tokio::time::sleep(self.write_delay).await;
        if let Some(pause) = &self.pause {
            pause.on_write().await;
        }
        let left = self.budget.load(Ordering::SeqCst);
        if left == 0 {
            return Err(StoreError::unavailable(
                "injected fault: the store went away",
            ));
        }
        let n = (writes.len() as u64).min(left);
        self.budget.fetch_sub(n, Ordering::SeqCst);
        let written = self.inner.write(t, lease, &writes[..n as usize]).await?;
        if (n as usize) < writes.len() {
            return Err(StoreError::unavailable(format!(
                "injected fault after {written} items"
            )));
        }
        Ok(written)
    }
}

impl<S: Store> BlockingRecords for Faulty<S> {
    fn load_summaries(&self, t: &str, k: EntityKind) -> StoreResult<Vec<StoredSummary>> {
        self.inner_blocking().load_summaries(t, k)
    }

    fn write(&self, t: &str, lease: &Lease, writes: &[EntityWrite]) -> StoreResult<u64> {
        self.write_sizes.lock().unwrap().push(writes.len());
        self.inner_blocking().write(t, lease, writes)
    }

    fn has_records(&self, t: &str) -> StoreResult<bool> {
        self.inner_blocking().has_records(t)
    }

    fn begin_bulk_load(&self) -> StoreResult<()> {
        self.inner_blocking().begin_bulk_load()
    }

    fn end_bulk_load(&self) -> StoreResult<()> {
        self.inner_blocking().end_bulk_load()
    }
}

impl<S: Store> PrimaryAdmins for Faulty<S> {
    async fn primary_admins(&self, t: &str) -> StoreResult<Vec<String>> {
        let sign_in = self.sign_in_after_planning.lock().unwrap().take();
        if let Some((tenant, id, sis)) = sign_in {
            let made = self
                .inner
                .provision_user(&tenant, &id, &sis, Utc::now(), "sso:between")
                .await?;
            assert!(made, "{id} was not stored yet");
        }
        self.inner.primary_admins(t).await
    }

    async fn set_primary_admin(&self, t: &str, id: &str, p: bool) -> StoreResult<()> {
        self.inner.set_primary_admin(t, id, p).await
    }
}

impl<S: Store> ProvisionalUsers for Faulty<S> {
    async fn provision_user(
        &self,
        t: &str,
        id: &str,
        sis: &SisContent,
        now: DateTime<Utc>,
        origin: &str,
    ) -> StoreResult<bool> {
        self.inner.provision_user(t, id, sis, now, origin).await
    }

    async fn provisional_users(&self, t: &str) -> StoreResult<Vec<StoredEntity>> {
        self.inner.provisional_users(t).await
    }
}

impl<S: Store> Runs for Faulty<S> {
    async fn put_run(&self, r: &RunRecord) -> StoreResult<()> {
        self.inner.put_run(r).await
    }

    async fn get_run(&self, id: &str) -> StoreResult<Option<RunRecord>> {
        self.inner.get_run(id).await
    }

    async fn list_runs(&self, t: Option<&str>, l: usize) -> StoreResult<Vec<RunRecord>> {
        self.inner.list_runs(t, l).await
    }
}

impl<S: Store> OneTimeRecords for Faulty<S> {
    async fn put_one_time(
        &self,
        k: OneTimeKind,
        key: &str,
        p: &str,
        e: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.inner.put_one_time(k, key, p, e).await
    }

    async fn take_one_time(
        &self,
        k: OneTimeKind,
        key: &str,
        n: DateTime<Utc>,
    ) -> StoreResult<Option<String>> {
        self.inner.take_one_time(k, key, n).await
    }
}

impl<S: Store> SignInAudits for Faulty<S> {
    async fn put_sign_in_audit(&self, a: &SignInAudit) -> StoreResult<()> {
        self.inner.put_sign_in_audit(a).await
    }

    async fn list_sign_in_audits(
        &self,
        t: Option<&str>,
        limit: usize,
        n: DateTime<Utc>,
    ) -> StoreResult<Vec<SignInAudit>> {
        self.inner.list_sign_in_audits(t, limit, n).await
    }
}

impl<S: Store> Leases for Faulty<S> {
    async fn acquire_lease(
        &self,
        t: &str,
        o: &str,
        n: DateTime<Utc>,
        ttl: Duration,
    ) -> StoreResult<LeaseOutcome> {
        self.inner.acquire_lease(t, o, n, ttl).await
    }

    async fn renew_lease(&self, t: &str, l: &Lease, n: DateTime<Utc>) -> StoreResult<bool> {
        if let Some(pause) = &self.pause {
            pause.while_stopped().await;
        }
        self.inner.renew_lease(t, l, n).await
    }

    async fn release_lease(&self, t: &str, l: &Lease) -> StoreResult<()> {
        self.inner.release_lease(t, l).await
    }
}

impl<S: Store> Claims for Faulty<S> {
    async fn claim(
        &self,
        w: &str,
        o: &str,
        n: DateTime<Utc>,
        lease: Duration,
    ) -> StoreResult<ClaimOutcome> {
        self.inner.claim(w, o, n, lease).await
    }

    async fn finish_claim(
        &self,
        w: &str,
        o: &str,
        r: &str,
        n: DateTime<Utc>,
        keep: Duration,
    ) -> StoreResult<()> {
        self.inner.finish_claim(w, o, r, n, keep).await
    }

    async fn release_claim(&self, w: &str, o: &str) -> StoreResult<()> {
        self.inner.release_claim(w, o).await
    }
}

/// A time of day on a date, UTC (a delivery's generation time).
pub fn at(date: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&format!("{date}T06:00:00Z"))
        .unwrap()
        .with_timezone(&Utc)
}
