//! The embedded store's tables: one per item type of the DynamoDB table.

pub(super) const SCHEMA: &str = r#"
-- A new file gets 16 KiB pages (records are ~500 bytes: fewer, fuller pages,
-- a quarter less time to load a district); an existing file keeps its own.
PRAGMA page_size = 16384;
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
-- Large batches of writes touch index pages all over: keep them in memory (64 MiB).
PRAGMA cache_size = -65536;
CREATE TABLE IF NOT EXISTS tenants (
    tenant TEXT PRIMARY KEY,
    config TEXT NOT NULL,
    state TEXT
);
-- The short integer that stands for a tenant in `entities` (its key's
-- first column): compared in every B-tree step of every write, an integer
-- costs less than the name.
CREATE TABLE IF NOT EXISTS tenant_keys (
    id INTEGER PRIMARY KEY,
    tenant TEXT NOT NULL UNIQUE
);
-- The short integer that stands for a run id in `entities` (the runs that
-- first saw a record, last wrote it, archived it; or a record's other
-- origin, such as the sign-in that made a provisional user): two of them on
-- every record, where the texts took a tenth of an enrollment's row.
CREATE TABLE IF NOT EXISTS run_keys (
    id INTEGER PRIMARY KEY,
    run TEXT NOT NULL UNIQUE
);
-- Platform-owned: never written by a sync.
CREATE TABLE IF NOT EXISTS platform (
    tenant TEXT NOT NULL,
    kind TEXT NOT NULL,
    sourced_id TEXT NOT NULL,
    primary_admin INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, kind, sourced_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_tenant ON runs (tenant, run_id);
CREATE TABLE IF NOT EXISTS one_time (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    payload TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sign_in_audit (
    tenant TEXT NOT NULL,
    sort_key TEXT NOT NULL,
    record TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (tenant, sort_key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS claims (
    work TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    state TEXT NOT NULL,
    result TEXT,
    expires_at TEXT NOT NULL
) WITHOUT ROWID;
-- A tenant's lease: `owner` is empty once released; `token` (the fencing
-- token) grows by one each time the lease is taken, and every write under
-- the lease checks it in its own transaction.
CREATE TABLE IF NOT EXISTS leases (
    tenant TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    token INTEGER NOT NULL DEFAULT 0
);
-- One ClassLink TenantId, one tenant: the key enforces it, and sign-in finds
-- the tenant with one read. Written with the tenant's configuration.
CREATE TABLE IF NOT EXISTS classlink_tenants (
    classlink_tenant_id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL
);
-- Tenants saved before the table existed: each id carried by exactly one
-- tenant gets its mapping (an id carried by two stays unmapped, and sign-in
-- refuses it as misconfigured until an operator fixes one of them).
INSERT OR IGNORE INTO classlink_tenants (classlink_tenant_id, tenant)
    SELECT json_extract(config, '$.classlink_tenant_id'), MIN(tenant) FROM tenants
    WHERE json_extract(config, '$.classlink_tenant_id') IS NOT NULL
    GROUP BY json_extract(config, '$.classlink_tenant_id')
    HAVING COUNT(*) = 1;
"#;

/// The `entities` table, named `name` (`entities`, or the table an old
/// file's records are rewritten into, see `layout.rs`).
///
/// Sync-owned: written by syncs only. `tenant` is a `tenant_keys` id, `kind`
/// the type's code (`kind_code`), the stamps milliseconds since 1970 (UTC),
/// the runs `run_keys` ids. (Older files held the names, RFC 3339 texts and
/// run ids; they are rewritten in this layout when first opened, see
/// `layout.rs`.)
pub(super) fn entities_table(name: &str) -> String {
    format!("CREATE TABLE IF NOT EXISTS {name} ({ENTITIES_COLUMNS}) WITHOUT ROWID;")
}

const ENTITIES_COLUMNS: &str = "
    tenant INTEGER NOT NULL,
    kind INTEGER NOT NULL,
    sourced_id TEXT NOT NULL,
    sis TEXT NOT NULL,
    archived_by TEXT,
    archived_at INTEGER,
    archived_run INTEGER,
    archive_reason TEXT,
    first_seen_at INTEGER NOT NULL,
    first_seen_run INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_run INTEGER NOT NULL,
    email TEXT,
    username TEXT,
    school TEXT,
    class TEXT,
    user TEXT,
    -- Platform-made at sign-in (never by a sync); a sync's write clears it.
    provisional INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, kind, sourced_id)
";

/// The lookup indexes of `entities`: made after the table is in its current
/// layout (a file in the old one gets them when it has been rewritten).
pub(super) const ENTITY_INDEXES: &str = r#"
CREATE INDEX IF NOT EXISTS entities_by_email ON entities (tenant, email) WHERE email IS NOT NULL;
CREATE INDEX IF NOT EXISTS entities_by_username ON entities (tenant, username) WHERE username IS NOT NULL;
CREATE INDEX IF NOT EXISTS entities_by_school ON entities (tenant, school) WHERE school IS NOT NULL;
CREATE INDEX IF NOT EXISTS entities_by_class ON entities (tenant, class) WHERE class IS NOT NULL;
CREATE INDEX IF NOT EXISTS entities_by_user ON entities (tenant, user) WHERE user IS NOT NULL;
"#;

/// Columns added since the first schema, with their definitions: a database
/// file made before them gets them when it is opened (`ALTER TABLE … ADD COLUMN`).
pub(super) const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    ("entities", "archive_reason", "TEXT"),
    ("entities", "provisional", "INTEGER NOT NULL DEFAULT 0"),
    ("leases", "token", "INTEGER NOT NULL DEFAULT 0"),
];
