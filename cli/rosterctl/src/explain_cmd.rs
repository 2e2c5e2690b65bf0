//! `rosterctl explain`: why a user can or cannot sign in, and why a class is
//! or is not listed for them, in words a support engineer can paste to a district.

use crate::on_store;
use crate::outcome::*;
use crate::stores::StoreArgs;
use roster::Store;
use serde_json::json;

/// The arguments of `rosterctl explain`.
#[derive(Debug, Clone, clap::Args)]
pub struct ExplainArgs {
    /// The user's sourcedId.
    pub user_id: String,
    /// The tenant.
    #[arg(long)]
    pub tenant: String,
    /// Only this class: why it is or is not listed for the user at sign-in.
    #[arg(long)]
    pub class: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
}

impl ExplainArgs {
    /// Runs `rosterctl explain`.
    pub async fn run(self) -> Outcome {
        let json = self.json;
        let args = &self;
        on_store!(self.store, json, s => explain(&s, args).await)
    }
}

async fn explain<S: Store>(store: &S, a: &ExplainArgs) -> Outcome {
    let tenant = match store.get_tenant(&a.tenant).await {
        Err(e) => return store_failure(a.json, &e),
        Ok(None) => return refused(a.json, &format!("no tenant {}", a.tenant)),
        Ok(Some(t)) => t,
    };
    let now = chrono::Utc::now();
    let e = match roster::explain::explain_user(store, &tenant, &a.user_id, now).await {
        Err(e) => return store_failure(a.json, &e),
        Ok(e) => e,
    };
    let class = a.class.as_deref();
    if a.json {
        let next = present::explain::next_steps(&e, class);
        return ok(json!({"explanation": e, "next": next}).to_string() + "\n");
    }
    ok(present::explain::render(&e, class))
}
