//! An API district's credentials: read from the flags (or ONEROSTER_API_SECRET), stored
//! in Secrets Manager as the pull function reads them (`api_pull::ApiSecret`).

use super::TenantArgs;
use api_pull::ApiSecret;
use oneroster_rest::address::AddressPolicy;

/// The secret JSON to store, if credentials were given: OAuth 1.0a
/// (`--api-key`), a bearer token (`--api-token`) or OAuth 2 client
/// credentials (`--api-token-url` and `--api-client-id`); the secret of
/// either from `--api-secret`, else ONEROSTER_API_SECRET. (clap refuses
/// mixed kinds and a token URL without a client id, or the reverse.)
pub(super) fn secret_json(a: &TenantArgs) -> Result<Option<String>, String> {
    let env_secret = std::env::var("ONEROSTER_API_SECRET").ok();
    Ok(api_secret(a, env_secret)?.map(|s| s.to_secret_string()))
}

/// The credentials given, `env_secret` standing for ONEROSTER_API_SECRET.
fn api_secret(a: &TenantArgs, env_secret: Option<String>) -> Result<Option<ApiSecret>, String> {
    let secret = a.api_secret.clone().or(env_secret);
    let kinds = (&a.api_key, &a.api_token, &a.api_token_url, &a.api_client_id);
    match kinds {
        (Some(key), None, None, None) => {
            let secret = secret.ok_or("--api-key needs --api-secret (or ONEROSTER_API_SECRET)")?;
            Ok(Some(ApiSecret::Oauth1 {
                key: key.clone(),
                secret,
            }))
        }
        (None, Some(token), None, None) => Ok(Some(ApiSecret::Bearer {
            token: token.clone(),
        })),
        (None, None, Some(token_url), Some(client_id)) => {
            let client_secret = secret.ok_or(
                "--api-client-id needs --api-secret, the OAuth 2 client secret (or ONEROSTER_API_SECRET)",
            )?;
            check_endpoint("--api-token-url", token_url, AddressPolicy::from_env())?;
            Ok(Some(ApiSecret::Oauth2 {
                token_url: token_url.clone(),
                client_id: client_id.clone(),
                client_secret,
            }))
        }
        (None, None, None, None) if a.api_secret.is_some() => Err(
            "--api-secret is the secret of --api-key (OAuth 1.0a) or of --api-client-id with --api-token-url (OAuth 2): give one of them too".into(),
        ),
        (None, None, None, None) => Ok(None),
        _ => Err("give one kind of credentials: --api-key with --api-secret, --api-token, or --api-token-url and --api-client-id with --api-secret".into()),
    }
}

/// The URL given to `flag` (`--api-url`, `--api-token-url`) as the pull will
/// accept it: an http(s) URL, and under `policy` (https and a public
/// address, unless ONEROSTER_API_LOCAL_DEVELOPMENT is set).
pub(super) fn check_endpoint(flag: &str, url: &str, policy: AddressPolicy) -> Result<(), String> {
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(format!("{flag} must be an http(s) URL, not `{url}`"));
    }
    policy
        .check_url(&format!("URL of {flag}"), url)
        .map_err(|e| e.to_string())
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cmd {
        #[command(flatten)]
        args: TenantArgs,
    }

    /// The flags parsed, or clap's refusal.
    fn parse(flags: &[&str]) -> Result<TenantArgs, String> {
        Cmd::try_parse_from(std::iter::once("tenants").chain(flags.iter().copied()))
            .map(|c| c.args)
            .map_err(|e| e.to_string())
    }

    fn stored(flags: &[&str], env: Option<&str>) -> Result<Option<ApiSecret>, String> {
        api_secret(&parse(flags)?, env.map(str::to_string))
    }

    const OAUTH2: [&str; 4] = [
        "--api-token-url",
        "https://idp.example/token",
        "--api-client-id",
        "C1",
    ];

    #[test]
    fn oauth2_client_credentials_take_the_secret_from_the_flag_or_the_environment() {
        let expected = Some(ApiSecret::Oauth2 {
            token_url: "https://idp.example/token".into(),
            client_id: "C1".into(),
            client_secret: "S1".into(),
        });
        let with_flag: Vec<&str> = OAUTH2
            .iter()
            .copied()
            .chain(["--api-secret", "S1"])
            .collect();
        assert_eq!(stored(&with_flag, Some("ENV")), Ok(expected.clone()));
        assert_eq!(stored(&OAUTH2, Some("S1")), Ok(expected));
        let missing = stored(&OAUTH2, None).unwrap_err();
        assert!(
            missing.contains("--api-client-id needs --api-secret"),
            "{missing}"
        );
        let not_a_url: Vec<&str> = [
            "--api-token-url",
            "idp.example/token",
            "--api-client-id",
            "C1",
        ]
        .to_vec();
        let refused = stored(&not_a_url, Some("S1")).unwrap_err();
        assert!(refused.contains("http(s) URL"), "{refused}");
        assert!(!refused.contains("S1"), "{refused}");
    }

    #[test]
    fn an_endpoint_must_be_https_outside_local_development() {
        let check = |url, policy| check_endpoint("--api-token-url", url, policy);
        let public = AddressPolicy::PublicHttps;
        assert_eq!(check("https://idp.example/token", public), Ok(()));
        let plain = check("http://idp.example/token", public).unwrap_err();
        assert!(plain.contains("must be https"), "{plain}");
        assert!(plain.contains("--api-token-url"), "{plain}");
        assert!(check("https://10.0.0.5/token", public).is_err());
        let local = AddressPolicy::LocalDevelopment;
        assert_eq!(check("http://127.0.0.1:9/token", local), Ok(()));
        let not_a_url = check("idp.example/token", local).unwrap_err();
        assert!(not_a_url.contains("http(s) URL"), "{not_a_url}");
    }

    #[test]
    fn incomplete_or_mixed_credentials_are_refused() {
        // clap: a token URL without a client id, or the reverse.
        for flags in [
            &["--api-token-url", "https://idp/token"][..],
            &["--api-client-id", "C1", "--api-secret", "S"][..],
        ] {
            let e = parse(flags)
                .err()
                .unwrap_or_else(|| panic!("{flags:?} parsed"));
            assert!(e.contains("required arguments were not provided"), "{e}");
        }
        // clap: two kinds at once.
        let mixed: [&[&str]; 4] = [
            &[
                "--api-key",
                "K",
                "--api-client-id",
                "C1",
                "--api-token-url",
                "https://i/t",
            ],
            &[
                "--api-token",
                "T",
                "--api-client-id",
                "C1",
                "--api-token-url",
                "https://i/t",
            ],
            &["--api-key", "K", "--api-token", "T"],
            &["--api-token", "T", "--api-secret", "S"],
        ];
        for flags in mixed {
            let e = parse(flags)
                .err()
                .unwrap_or_else(|| panic!("{flags:?} parsed"));
            assert!(e.contains("cannot be used with"), "{e}");
            assert!(!e.contains("'S'") && !e.contains("'T'"), "a secret in {e}");
        }
        // A secret alone says what it belongs to; the environment's alone is no error.
        let alone = stored(&["--api-secret", "S"], None).unwrap_err();
        assert!(alone.contains("give one of them too"), "{alone}");
        assert_eq!(stored(&[], Some("ENV")), Ok(None));
        assert!(stored(&["--api-key", "K"], None)
            .unwrap_err()
            .contains("--api-key needs --api-secret"));
    }

    #[test]
    fn the_older_kinds_are_stored_as_before() {
        assert_eq!(
            stored(&["--api-key", "K", "--api-secret", "S"], None),
            Ok(Some(ApiSecret::Oauth1 {
                key: "K".into(),
                secret: "S".into()
            }))
        );
        assert_eq!(
            stored(&["--api-token", "T"], Some("ENV")),
            Ok(Some(ApiSecret::Bearer { token: "T".into() }))
        );
    }
}
