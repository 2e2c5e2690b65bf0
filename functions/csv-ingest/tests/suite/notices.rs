//! Run notices to the districts, through SNS on moto: each district's
//! listener (subscribed with the tenant filter policy a contact's email
//! subscription has) hears of its own rejected and held runs, never of
//! another district's, and no message carries a roster user's name or email.

use crate::common::*;
use roster::roles::*;
use serde_json::Value;
use std::time::{Duration, Instant};
use testkit::notices::{attribute, notice_topic, received, sns_client, tenant_listener};

async fn deliver(world: &World, key: &str, zip: &std::path::Path) -> (String, String) {
    let event = world.put_file(key, zip).await;
    let out = world
        .ingest
        .handle(
            decode(event).unwrap(),
            Some(Instant::now() + Duration::from_secs(600)),
        )
        .await
        .unwrap();
    (out[0].outcome.clone(), out[0].run_id.clone().unwrap())
}

/// Every email, name and username in a users.csv.
fn personal_values(users_csv: &std::path::Path) -> Vec<String> {
    let mut reader = csv::Reader::from_path(users_csv).unwrap();
    let headers = reader.headers().unwrap().clone();
    let columns: Vec<usize> = ["email", "givenName", "familyName", "username"]
        .iter()
        .filter_map(|c| headers.iter().position(|h| h == *c))
        .collect();
    assert_eq!(columns.len(), 4, "{headers:?}");
    let mut values = Vec::new();
    for record in reader.records() {
        let record = record.unwrap();
        for &c in &columns {
            let v = record.get(c).unwrap_or("").trim();
            if v.len() >= 3 {
                values.push(v.to_string());
            }
        }
    }
    values
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_district_hears_of_its_own_rejected_and_held_runs_only() {
    let mut world = World::new().await;
    let topic = notice_topic().await;
    world.ingest.notices = Some(cloud::sns::Topic::new(sns_client(), topic.clone()));
    for (id, applied_too) in [("d1", false), ("d2", true)] {
        let mut t = world.tenant(id).await;
        t.notify_emails = vec![format!("data@{id}.example.org")];
        t.notify_applied = applied_too;
        world.ingest.store.put_tenant(&t).await.unwrap();
    }
    let d1 = tenant_listener(&topic, "d1").await;
    let d2 = tenant_listener(&topic, "d2").await;

    // d1: a first load (applied: d1 did not ask to hear of those), then a package
    // that is not UTF-8 (rejected), then one missing half its users (held).
    let folder = world.district("district", 300);
    let users = folder.join("users.csv");
    let personal = personal_values(&users);
    assert!(personal.len() > 600, "{}", personal.len());
    let (outcome, _) = deliver(&world, "inbound/d1/full.zip", &world.zip_of(&folder)).await;
    assert_eq!(outcome, "applied");
    assert!(
        received(&d1).await.is_empty(),
        "applied runs only when asked"
    );

    let original = std::fs::read(&users).unwrap();
    let mut broken = original.clone();
    let at = broken.iter().position(|b| *b == b'\n').unwrap() + 40;
    broken[at] = 0xFF;
    std::fs::write(&users, &broken).unwrap();
    let (outcome, rejected) = deliver(&world, "inbound/d1/bad.zip", &world.zip_of(&folder)).await;
    assert_eq!(outcome, "rejected");

    let text = String::from_utf8(original).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&users, lines[..lines.len() / 2].join("\n") + "\n").unwrap();
    let (outcome, held) = deliver(&world, "inbound/d1/half.zip", &world.zip_of(&folder)).await;
    assert_eq!(outcome, "held");

    let heard: Vec<Value> = received(&d1).await;
    assert_eq!(heard.len(), 2, "{heard:#?}");
    let (reject, hold) = (&heard[0], &heard[1]);
    assert_eq!(attribute(reject, "tenant"), Some("d1"));
    assert_eq!(attribute(reject, "outcome"), Some("rejected"));
    assert_eq!(attribute(hold, "outcome"), Some("held"));
    let body = |n: &Value| n["Message"].as_str().unwrap().to_string();
    assert!(reject["Subject"].as_str().unwrap().contains(&rejected));
    assert!(body(reject).contains(&format!("Run: {rejected}")));
    assert!(
        body(reject).contains("users.csv line 2 column -: not_utf8"),
        "{}",
        body(reject)
    );
    assert!(body(reject).contains("Please correct the errors"));
    assert!(body(hold).contains(&held));
    assert!(
        body(hold).contains("Held (users):") && body(hold).contains("would archive"),
        "{}",
        body(hold)
    );
    for n in &heard {
        let all = format!("{}\n{}", n["Subject"], body(n));
        for value in &personal {
            assert!(
                !all.contains(value.as_str()),
                "`{value}` in a notice:\n{all}"
            );
        }
        assert!(
            !all.contains("@d1.example.org"),
            "not even the contact's address"
        );
    }
    assert!(received(&d2).await.is_empty(), "d2 hears nothing of d1");

    // d2 asked to hear of applied runs too: its first load reaches it, and not d1.
    let other = world.district("other", 20);
    let (outcome, applied) = deliver(&world, "inbound/d2/full.zip", &world.zip_of(&other)).await;
    assert_eq!(outcome, "applied");
    let heard = received(&d2).await;
    assert_eq!(heard.len(), 1, "{heard:#?}");
    assert_eq!(attribute(&heard[0], "tenant"), Some("d2"));
    assert_eq!(attribute(&heard[0], "outcome"), Some("applied"));
    assert!(body(&heard[0]).contains(&applied));
    assert!(body(&heard[0]).contains("users: "), "counts per type");
    assert!(received(&d1).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notice_that_cannot_be_published_does_not_fail_the_run() {
    let mut world = World::new().await;
    // A topic that does not exist: Publish fails; the rejection is still filed.
    world.ingest.notices = Some(cloud::sns::Topic::new(
        sns_client(),
        "arn:aws:sns:us-east-1:123456789012:no-such-topic",
    ));
    let mut t = world.tenant("d1").await;
    t.notify_emails = vec!["data@d1.example.org".into()];
    world.ingest.store.put_tenant(&t).await.unwrap();
    let (outcome, run_id) = deliver(&world, "inbound/d1/junk.zip", &{
        let p = world.dir.path().join("junk.zip");
        std::fs::write(&p, b"not a zip").unwrap();
        p
    })
    .await;
    assert_eq!(outcome, "rejected");
    assert_eq!(
        world.keys(&format!("rejected/d1/{run_id}/")).await.len(),
        3,
        "the package and its report (JSON and page) are filed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_with_a_line_break_and_a_link_reaches_the_notice_on_one_line_without_the_link() {
    let mut world = World::new().await;
    let topic = notice_topic().await;
    world.ingest.notices = Some(cloud::sns::Topic::new(sns_client(), topic.clone()));
    let mut t = world.tenant("d1").await;
    t.notify_emails = vec!["data@d1.example.org".into()];
    world.ingest.store.put_tenant(&t).await.unwrap();
    let d1 = tenant_listener(&topic, "d1").await;

    // users.csv gains two pairs of duplicate columns (fatal): a header holding a line
    // break and a link, and one of 10,000 characters.
    let folder = world.district("district", 20);
    let users = folder.join("users.csv");
    let text = std::fs::read_to_string(&users).unwrap();
    let evil = "evil\n<a href=http://evil>click</a>";
    let long = "x".repeat(10_000);
    let extra = format!(",\"{evil}\",\"{evil}\",{long},{long}");
    let mut lines = text.lines();
    let mut out = format!("{}{extra}\n", lines.next().unwrap());
    for line in lines {
        out.push_str(line);
        out.push_str(",,,,\n");
    }
    std::fs::write(&users, out).unwrap();
    let (outcome, run_id) = deliver(&world, "inbound/d1/evil.zip", &world.zip_of(&folder)).await;
    assert_eq!(outcome, "rejected");

    let heard = received(&d1).await;
    assert_eq!(heard.len(), 1, "{heard:#?}");
    let subject = heard[0]["Subject"].as_str().unwrap();
    let body = heard[0]["Message"].as_str().unwrap();
    assert!(subject.contains(&run_id), "{subject}");
    assert!(
        body.contains(
            "users.csv line 1 column evil\\u{a}<a href=http[:]//evil>click</a>: duplicate_column"
        ),
        "{body}"
    );
    assert!(!body.contains("http://"), "no link: {body}");
    for line in body.lines() {
        assert!(!line.starts_with("<a"), "a forged line: {body}");
        assert!(line.chars().count() < 300, "a line that runs on: {line}");
    }
    assert!(
        body.contains(&format!("column {}…: duplicate_column", "x".repeat(80))),
        "{body}"
    );
    assert!(body.len() < 4_000, "{} bytes", body.len());
}
