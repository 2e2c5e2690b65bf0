//! The sign-in API's bounds in template.yaml (issue #17): the ticket
//! redemption has a throttle of its own, apart from the browser routes', and
//! the function has reserved concurrency by default, so a flood of sign-in
//! requests is bounded and leaves the other functions their concurrency.
//! Needs ROSTER_TEMPLATE_PYTHON (cfn-lint's decoder).

use std::process::Command;

/// template.yaml as JSON, CloudFormation tags decoded.
fn template() -> serde_json::Value {
    let script = "import json, sys\nfrom cfnlint.decode import decode\ntemplate, matches = decode('template.yaml')\nif matches: sys.exit(str(matches))\nprint(json.dumps(template, default=str))";
    let out = Command::new(testkit::template::python())
        .current_dir(testkit::servers::repo_root())
        .args(["-c", script])
        .output()
        .expect("the template decoder runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn redemption_has_its_own_throttle_and_the_function_reserved_concurrency() {
    let t = template();
    let api = &t["Resources"]["SsoHttpApi"]["Properties"];
    let default = &api["DefaultRouteSettings"];
    let redeem = &api["RouteSettings"]["POST /sso/tickets/redeem"];
    assert!(
        redeem["ThrottlingRateLimit"].as_f64().unwrap() > 0.0,
        "{api}"
    );
    assert!(
        redeem["ThrottlingBurstLimit"].as_f64().unwrap() > 0.0,
        "{api}"
    );
    assert!(
        default["ThrottlingRateLimit"].as_f64().unwrap() > 0.0,
        "{api}"
    );

    let function = &t["Resources"]["SsoCallbackFunction"]["Properties"];
    let reserved = &function["ReservedConcurrentExecutions"]["Fn::If"];
    assert_eq!(reserved[0], "ReservesSsoConcurrency", "{function}");
    assert_eq!(reserved[1]["Ref"], "SsoReservedConcurrency");
    let parameter = &t["Parameters"]["SsoReservedConcurrency"];
    assert!(
        parameter["Default"].as_f64().unwrap() >= 1.0,
        "reserved by default: {parameter}"
    );
    assert_eq!(parameter["MinValue"].as_f64(), Some(0.0), "0 opts out");
}

/// The partition-key prefixes each SSO statement allows, by its actions.
fn leading_keys(statement: &serde_json::Value) -> Vec<String> {
    statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
        .as_array()
        .unwrap_or_else(|| panic!("no LeadingKeys condition: {statement}"))
        .iter()
        .map(|k| k.as_str().unwrap().to_string())
        .collect()
}

fn actions(statement: &serde_json::Value) -> Vec<String> {
    match &statement["Action"] {
        serde_json::Value::String(a) => vec![a.clone()],
        serde_json::Value::Array(a) => a.iter().map(|a| a.as_str().unwrap().to_string()).collect(),
        other => panic!("{other}"),
    }
}

#[test]
fn the_sso_function_writes_only_its_own_partitions() {
    let t = template();
    let policies = &t["Resources"]["SsoCallbackFunction"]["Properties"]["Policies"];
    let dynamo: Vec<serde_json::Value> = policies
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["Statement"].as_array().cloned().unwrap_or_default())
        .filter(|s| actions(s).iter().any(|a| a.starts_with("dynamodb:")))
        .collect();
    assert!(!dynamo.is_empty());
    for statement in &dynamo {
        let keys = leading_keys(statement);
        for action in actions(statement) {
            match action.as_str() {
                "dynamodb:GetItem" | "dynamodb:Query" => assert!(
                    keys.iter()
                        .all(|k| ["TENANTS", "CLASSLINK#*", "T#*"].contains(&k.as_str())),
                    "reads: {keys:?}"
                ),
                "dynamodb:DeleteItem" => assert!(
                    keys.iter()
                        .all(|k| ["ONETIME#*", "SSOAUDIT#*"].contains(&k.as_str())),
                    "deletes: {keys:?}"
                ),
                "dynamodb:PutItem" => assert!(
                    keys.iter()
                        .all(|k| ["ONETIME#*", "SSOAUDIT#*", "T#*#users#*"].contains(&k.as_str())),
                    "puts: {keys:?}"
                ),
                other => panic!("the SSO function may not {other}"),
            }
        }
    }
    // Every partition the function writes is covered.
    let puts: Vec<String> = dynamo
        .iter()
        .filter(|s| actions(s).contains(&"dynamodb:PutItem".to_string()))
        .flat_map(leading_keys)
        .collect();
    for needed in ["ONETIME#*", "SSOAUDIT#*", "T#*#users#*"] {
        assert!(puts.iter().any(|k| k == needed), "{needed}: {puts:?}");
    }
}
