//! Tests of the OpenID Connect side's pure parts: user info decoded and
//! matched to the token's subject and district, errors told without the
//! values they hold.

use super::*;
use serde_json::json;

#[test]
fn user_info_that_does_not_decode_is_described_without_its_values() {
    // serde's own message would quote the number ("invalid type: integer `5551234`").
    let error =
        parse_user_info(br#"{"UserId": 1, "Email": 5551234}"#).expect_err("an email must be text");
    let text = error.to_string();
    assert!(text.contains("line 1 column"), "{text}");
    assert!(!text.contains("5551234"), "{text}");
}

#[test]
fn a_verified_tokens_claims_give_details_of_its_subject_and_district() {
    let token = |claims: serde_json::Value| {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(&claims).unwrap());
        format!("h.{payload}.s")
    };
    let full = json!({"sub": "u1", "classLink_tenant_id": 42, "classLink_role": "teacher"});
    let (subject, info) = verified_subject(&token(full), "u1".into());
    assert_eq!(subject, self::subject("u1", Some("42")));
    let info = info.expect("district and role");
    assert_eq!(
        (info.user(), info.tenant()),
        (Some("u1".into()), Some("42".into()))
    );
    assert!(subject.owns(&info).is_ok());
    // No role, or no token payload at all: no details, and no district.
    let no_role = json!({"sub": "u1", "classLink_tenant_id": 42, "classLink_role": " "});
    assert!(verified_subject(&token(no_role), "u1".into()).1.is_none());
    assert_eq!(
        verified_subject("not a token", "u1".into()),
        (self::subject("u1", None), None)
    );
}

fn subject(user: &str, tenant: Option<&str>) -> TokenSubject {
    TokenSubject {
        user_id: user.into(),
        tenant_id: tenant.map(String::from),
    }
}

fn info(value: serde_json::Value) -> UserInfo {
    serde_json::from_value(value).unwrap()
}

#[test]
fn user_info_must_name_the_token_user_and_district() {
    let tina = info(json!({"UserId": 9001, "TenantId": 4242, "Email": "tina@d.example"}));
    assert!(subject("9001", Some("4242")).owns(&tina).is_ok());
    assert!(
        subject("9001", None).owns(&tina).is_ok(),
        "a token without the district checks the user only"
    );
    let refused = subject("9150", Some("4242")).owns(&tina).unwrap_err();
    let text = refused.to_string();
    assert!(matches!(refused, ClassLinkError::UserInfoMismatch { .. }));
    assert!(
        text.contains("UserId 9001") && text.contains("UserId 9150"),
        "{text}"
    );
    assert!(!text.contains('@'), "ids only: {text}");
    assert!(
        subject("9001", Some("777")).owns(&tina).is_err(),
        "another district"
    );
    let no_tenant = info(json!({"UserId": "9001"}));
    assert!(subject("9001", Some("4242")).owns(&no_tenant).is_err());
    assert!(subject("9001", Some("4242"))
        .owns(&UserInfo::default())
        .is_err());
    // A long id is quoted cut short.
    let long = info(json!({"UserId": "x".repeat(10_000), "TenantId": 4242}));
    let text = subject("9001", Some("4242"))
        .owns(&long)
        .unwrap_err()
        .to_string();
    assert!(text.len() < 400, "{}", text.len());
}
