//! The SSO callback's query: the input is the query string, decoded as
//! axum's `Query` decodes it, then read by `CallbackQuery::read`. Each
//! parameter it reads is the query's own, never empty; a login is
//! unsolicited exactly when a code comes without a state; the provider's
//! error is logged as at most 64 ASCII letters, digits and `_`.
#![no_main]

use axum::extract::Query;
use axum::http::Uri;
use libfuzzer_sys::fuzz_target;
use sso_callback::callback::CallbackQuery;
use std::collections::HashMap;

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    // What reaches the handler: a request target the HTTP layer accepted.
    let Ok(uri) = format!("/sso/classlink/callback?{query}").parse::<Uri>() else {
        return;
    };
    let Ok(Query(map)) = Query::<HashMap<String, String>>::try_from_uri(&uri) else {
        return;
    };
    let params = CallbackQuery::read(&map);
    for (name, value) in [
        ("state", params.state),
        ("code", params.code),
        ("error", params.error),
        ("iss", params.iss),
    ] {
        let expected = map.get(name).map(String::as_str).filter(|v| !v.is_empty());
        assert_eq!(value, expected, "{name}");
    }
    assert_eq!(
        params.unsolicited(),
        params.state.is_none() && params.code.is_some()
    );
    let logged = params.logged_error();
    assert_eq!(logged.is_some(), params.error.is_some());
    if let Some(logged) = logged {
        assert!(logged.len() <= 64);
        assert!(logged
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_'));
    }
});
