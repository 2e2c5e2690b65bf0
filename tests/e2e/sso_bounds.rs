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
