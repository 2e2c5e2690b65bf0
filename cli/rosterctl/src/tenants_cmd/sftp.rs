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
    let session_policy = json!({
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
    });
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
