//! The ID token's claims, read again after verification for ClassLink's
//! own (`sso_callback::oidc::verified_subject`). The input is the token's
//! payload JSON (encoded into a token here) when its first byte is even,
//! the whole token text otherwise. The details it gives are always of the
//! token's subject and district (what `user_info` would check), with a
//! role; a token without a district or a role gives none.
#![no_main]

use base64::Engine;
use libfuzzer_sys::fuzz_target;
use sso_callback::oidc::verified_subject;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let token = if mode % 2 == 0 {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rest);
        format!("eyJhbGciOiJSUzI1NiJ9.{payload}.c2ln")
    } else {
        match std::str::from_utf8(rest) {
            Ok(text) => text.to_string(),
            Err(_) => return,
        }
    };
    let user_id = "u-1".to_string();
    let (subject, info) = verified_subject(&token, user_id.clone());
    assert_eq!(subject.user_id, user_id);
    if let Some(info) = info {
        assert_eq!(
            info.user().as_deref(),
            Some(user_id.as_str()),
            "of the subject"
        );
        assert_eq!(info.tenant(), subject.tenant_id, "of the token's district");
        assert!(info.role.as_deref().is_some_and(|r| !r.trim().is_empty()));
        assert!(info.login_id.is_none() && info.login_id_unknown);
    }
});
