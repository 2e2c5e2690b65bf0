//! A browser's part in a redirect dance: follow redirects by hand, keeping
//! cookies, until the next hop is one the test wants to make itself.

use std::collections::HashMap;
use url::Url;

/// Follows redirects from `start` (keeping the cookies the servers set)
/// until the next location starts with `stop_at`, and returns that location
/// without requesting it. Panics if a step is not a redirect or after 12 hops.
pub async fn follow_until(client: &reqwest::Client, start: Url, stop_at: &str) -> Url {
    let mut jar: HashMap<String, String> = HashMap::new();
    let mut at = start;
    for _ in 0..12 {
        let cookie = jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let response = client
            .get(at.clone())
            .header("cookie", cookie)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{at} does not answer: {e}"));
        for c in response.headers().get_all("set-cookie") {
            let pair = c.to_str().unwrap_or("").split(';').next().unwrap_or("");
            if let Some((k, v)) = pair.split_once('=') {
                if v.is_empty() {
                    jar.remove(k);
                } else {
                    jar.insert(k.to_string(), v.to_string());
                }
            }
        }
        let status = response.status();
        let Some(location) = response.headers().get("location").cloned() else {
            panic!(
                "{at} answered {status} without a redirect: {}",
                response.text().await.unwrap_or_default()
            );
        };
        let next = at.join(location.to_str().unwrap()).unwrap();
        if next.as_str().starts_with(stop_at) {
            return next;
        }
        at = next;
    }
    panic!("more than 12 redirects without reaching {stop_at}");
}

/// A client that follows no redirects (the tests follow them by hand).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap()
}
