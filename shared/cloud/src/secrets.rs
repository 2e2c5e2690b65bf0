//! Secrets Manager: a secret's string value, with a failure that names the
//! secret and the service's error code, never the value.

use crate::Failure;

/// The string value of secret `name` (a name or an ARN).
pub async fn secret_string(
    client: &aws_sdk_secretsmanager::Client,
    name: &str,
) -> Result<String, Failure> {
    let value = client
        .get_secret_value()
        .secret_id(name)
        .send()
        .await
        .map_err(|e| {
            let what = crate::failure::what_failed(&e);
            Failure::sdk(format!("the secret `{name}` cannot be read: {what}"), e)
        })?;
    value
        .secret_string()
        .map(str::to_string)
        .ok_or_else(|| Failure::permanent(format!("the secret `{name}` has no string value")))
}
