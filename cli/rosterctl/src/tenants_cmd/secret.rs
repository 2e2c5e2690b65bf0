//! An API district's credentials: read from the flags (or ONEROSTER_API_SECRET), stored
//! in Secrets Manager as the pull function reads them (`api_pull::ApiSecret`).

use super::TenantArgs;
use api_pull::ApiSecret;

/// The secret JSON to store, if credentials were given.
pub(super) fn secret_json(a: &TenantArgs) -> Result<Option<String>, String> {
    let secret = a
        .api_secret
        .clone()
        .or_else(|| std::env::var("ONEROSTER_API_SECRET").ok());
    match (&a.api_key, &a.api_token) {
        (Some(key), None) => {
            let secret = secret.ok_or("--api-key needs --api-secret (or ONEROSTER_API_SECRET)")?;
            Ok(Some(
                ApiSecret::Oauth1 {
                    key: key.clone(),
                    secret,
                }
                .to_secret_string(),
            ))
        }
        (None, Some(token)) => Ok(Some(
            ApiSecret::Bearer {
                token: token.clone(),
            }
            .to_secret_string(),
        )),
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err("give either --api-key/--api-secret or --api-token".into()),
    }
}

/// Stores the credentials in Secrets Manager under `name` (creating the secret the
/// first time): `updated` or `created`. The value is never printed.
pub(super) async fn store_secret(name: &str, value: &str) -> Result<&'static str, String> {
    let sdk = cloud::sdk_config().await;
    let sm = aws_sdk_secretsmanager::Client::new(&sdk);
    match sm
        .put_secret_value()
        .secret_id(name)
        .secret_string(value)
        .send()
        .await
    {
        Ok(_) => Ok("updated"),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            sm.create_secret()
                .name(name)
                .secret_string(value)
                .description("OneRoster API credentials (roster bridge)")
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "Secrets Manager: cannot create `{name}`: {}",
                        e.into_service_error()
                    )
                })?;
            Ok("created")
        }
        Err(e) => Err(format!(
            "Secrets Manager: cannot store `{name}`: {}",
            e.into_service_error()
        )),
    }
}

/// Reads a district's credentials back (for `tenants check`): the parsed
/// secret, or why it cannot be used. Never returns or prints the value.
pub(super) async fn read_secret(name: &str) -> Result<ApiSecret, String> {
    let sdk = cloud::sdk_config().await;
    let sm = aws_sdk_secretsmanager::Client::new(&sdk);
    let text = cloud::secrets::secret_string(&sm, name)
        .await
        .map_err(|e| e.to_string())?;
    ApiSecret::parse(&text).map_err(|e| format!("the secret `{name}`: {e}"))
}
