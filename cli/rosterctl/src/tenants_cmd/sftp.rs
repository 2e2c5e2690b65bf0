//! What an SFTP district needs on the AWS Transfer Family side.

use roster::{Connection, TenantConfig};
use serde_json::json;

/// The AWS Transfer Family user to create for an SFTP district (the pattern
/// documented at `SftpUserRole` in template.yaml): the tenant id as user
/// name, a logical home directory mapped to `inbound/{tenant}/`, the stack's
/// SFTP user role, and a session policy that confines the user to its folder.
pub(super) fn sftp_instructions(
    config: &TenantConfig,
    bucket: Option<&str>,
) -> Option<serde_json::Value> {
    if !config.uses(Connection::Sftp) {
        return None;
    }
    let bucket = bucket.unwrap_or("<InboundBucketName>");
    let tenant = &config.tenant;
    let target = format!("/{bucket}/inbound/{tenant}");
    let session_policy = session_policy(bucket);
    let mappings = json!([{"Entry": "/", "Target": target}]);
    Some(json!({
        "user_name": tenant,
        "server_id": "<SftpServerId output>",
        "role": "<SftpUserRoleArn output>",
        "home_directory_type": "LOGICAL",
        "home_directory_mappings": mappings,
        "session_policy": session_policy,
        "ssh_public_key": "the district's ClassLink Roster Server public key",
        "note": "uploads only (no delete): ClassLink must upload under the final file name",
        "command": format!(
            "aws transfer create-user --server-id <SftpServerId> --user-name {tenant} --role <SftpUserRoleArn> \
             --home-directory-type LOGICAL --home-directory-mappings '{mappings}' \
             --policy '{session_policy}' --ssh-public-key-body '<ssh-rsa ...>'"
        ),
    }))
}

/// The session policy every district's SFTP user gets (one text: the user
/// name variable narrows it to the district's own folder of `bucket`).
pub(super) fn session_policy(bucket: &str) -> serde_json::Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ListOwnFolder",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": format!("arn:aws:s3:::{bucket}"),
                "Condition": {"StringLike": {"s3:prefix": [
                    "inbound/${transfer:UserName}/*", "inbound/${transfer:UserName}"
                ]}}
            },
            {
                "Sid": "UploadAndReadOwnFolder",
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:GetObject"],
                "Resource": format!("arn:aws:s3:::{bucket}/inbound/${{transfer:UserName}}/*")
            }
        ]
    })
}

/// What is wrong with a user's session policy (`None`: it is exactly the
/// expected one, compared as JSON, so spacing and key order do not matter).
fn session_policy_problem(policy: Option<&str>, bucket: &str) -> Option<String> {
    let Some(text) = policy.filter(|p| !p.trim().is_empty()) else {
        return Some(
            "it has no session policy (the role alone would let it reach every district's folder)"
                .into(),
        );
    };
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(found) if found == session_policy(bucket) => None,
        Ok(_) => Some(format!(
            "its session policy is not the one every district gets (confined to inbound/<user name>/ of {bucket}); set it as `tenants show` prints it"
        )),
        Err(_) => Some("its session policy is not JSON".into()),
    }
}

/// The district's Transfer Family user on `server_id`, checked against what
/// [`sftp_instructions`] says it must be: a LOGICAL home whose `/` maps to
/// `…/inbound/{tenant}` (in `bucket`, when given), exactly the session
/// policy of [`session_policy`] (for `bucket`, or the bucket of the home
/// mapping), and at least one SSH key.
pub(super) async fn find_sftp_user(
    server_id: &str,
    tenant: &str,
    bucket: Option<&str>,
) -> super::check::SftpFinding {
    use super::check::SftpFinding;
    use aws_sdk_transfer::types::HomeDirectoryType;
    let sdk = cloud::sdk_config().await;
    let transfer = aws_sdk_transfer::Client::new(&sdk);
    let user = match transfer
        .describe_user()
        .server_id(server_id)
        .user_name(tenant)
        .send()
        .await
    {
        Ok(out) => out.user,
        // AWS answers ResourceNotFoundException; moto, the emulator, UserNotFound.
        Err(e)
            if e.as_service_error().is_some_and(|s| {
                s.is_resource_not_found_exception()
                    || aws_sdk_transfer::error::ProvideErrorMetadata::code(s)
                        == Some("UserNotFound")
            }) =>
        {
            return SftpFinding::Missing
        }
        Err(e) => return SftpFinding::Error(cloud::failure::chain(&e)),
    };
    let Some(user) = user else {
        return SftpFinding::Missing;
    };
    let mut problems = Vec::new();
    if user.home_directory_type() != Some(&HomeDirectoryType::Logical) {
        problems.push(
            "its home directory is not LOGICAL (the district could see other folders)".to_string(),
        );
    }
    let want = match bucket {
        Some(b) => format!("/{b}/inbound/{tenant}"),
        None => format!("/inbound/{tenant}"),
    };
    let root = user
        .home_directory_mappings()
        .iter()
        .find(|m| m.entry() == "/")
        .map(|m| m.target().trim_end_matches('/').to_string());
    match &root {
        Some(target) if target.ends_with(&want) => {}
        Some(target) => problems.push(format!("its home maps to {target}, not …{want}")),
        None => problems.push(format!("it has no home mapping of / to …{want}")),
    }
    // The bucket the policy must name: the one given, or the home mapping's.
    let policy_bucket = bucket.map(String::from).or_else(|| {
        root.as_deref()
            .and_then(|t| t.trim_start_matches('/').split('/').next())
            .map(String::from)
    });
    if let Some(b) = policy_bucket {
        if let Some(problem) = session_policy_problem(user.policy(), &b) {
            problems.push(problem);
        }
    }
    if user.ssh_public_keys().is_empty() {
        problems
            .push("it has no SSH public key (ClassLink's Roster Server cannot log in)".to_string());
    }
    SftpFinding::Found { problems }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_policy_must_be_exactly_the_districts() {
        let expected = session_policy("inbound-b").to_string();
        assert_eq!(session_policy_problem(Some(&expected), "inbound-b"), None);
        let pretty = serde_json::to_string_pretty(&session_policy("inbound-b")).unwrap();
        assert_eq!(
            session_policy_problem(Some(&pretty), "inbound-b"),
            None,
            "spacing is not a difference"
        );
        let other_bucket = session_policy_problem(Some(&expected), "inbound-c").unwrap();
        assert!(
            other_bucket.contains("not the one every district gets"),
            "{other_bucket}"
        );
        assert!(session_policy_problem(None, "b")
            .unwrap()
            .contains("no session policy"));
        assert!(session_policy_problem(Some("{"), "b")
            .unwrap()
            .contains("not JSON"));
    }
}
