//! CloudWatch embedded metric format (EMF): one JSON line per run that
//! CloudWatch turns into metrics. Counts and durations only, never personal data.

use serde_json::{json, Map, Value};

/// The CloudWatch namespace of every metric the bridge emits.
pub const NAMESPACE: &str = "RosterBridge";

/// The deployment's name (`STACK_NAME`, set by the template), the `Stack`
/// dimension of every metric, so that two deployments in one account do not
/// trigger each other's alarms. Empty outside a deployment.
pub fn stack_name() -> String {
    crate::env::optional("STACK_NAME").unwrap_or_default()
}

/// Prints (stdout, where Lambda sends it to CloudWatch) one EMF line in
/// [`NAMESPACE`] with the `Stack` dimension first, then `dimensions`.
pub fn emit(dimensions: &[(&str, &str)], metrics: &[Metric<'_>], properties: &[(&str, Value)]) {
    println!(
        "{}",
        stack_line(
            &stack_name(),
            dimensions,
            metrics,
            properties,
            chrono::Utc::now().timestamp_millis()
        )
    );
}

/// The EMF line [`emit`] prints, for stack `stack`.
pub fn stack_line(
    stack: &str,
    dimensions: &[(&str, &str)],
    metrics: &[Metric<'_>],
    properties: &[(&str, Value)],
    timestamp_ms: i64,
) -> String {
    let mut all = Vec::with_capacity(dimensions.len() + 1);
    all.push(("Stack", stack));
    all.extend_from_slice(dimensions);
    emf_line(NAMESPACE, &all, metrics, properties, timestamp_ms)
}

/// One metric: name, value, unit (`Count`, `Milliseconds`, ...).
pub struct Metric<'a> {
    /// Name.
    pub name: &'a str,
    /// Value.
    pub value: f64,
    /// CloudWatch unit.
    pub unit: &'a str,
}

impl<'a> Metric<'a> {
    /// A count.
    pub fn count(name: &'a str, value: u64) -> Metric<'a> {
        Metric {
            name,
            value: value as f64,
            unit: "Count",
        }
    }

    /// A duration in milliseconds.
    pub fn millis(name: &'a str, elapsed: std::time::Duration) -> Metric<'a> {
        Metric {
            name,
            value: elapsed.as_millis() as f64,
            unit: "Milliseconds",
        }
    }
}

/// An EMF line in `namespace` with `dimensions` (name, value) and `metrics`;
/// extra `properties` are logged alongside (searchable, not metrics).
pub fn emf_line(
    namespace: &str,
    dimensions: &[(&str, &str)],
    metrics: &[Metric<'_>],
    properties: &[(&str, Value)],
    timestamp_ms: i64,
) -> String {
    let mut root = Map::new();
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [dimensions.iter().map(|(k, _)| *k).collect::<Vec<_>>()],
                "Metrics": metrics.iter().map(|m| json!({"Name": m.name, "Unit": m.unit})).collect::<Vec<_>>(),
            }],
        }),
    );
    for (k, v) in dimensions {
        root.insert((*k).into(), Value::String((*v).into()));
    }
    for m in metrics {
        root.insert(m.name.into(), json!(m.value));
    }
    for (k, v) in properties {
        root.insert((*k).into(), v.clone());
    }
    Value::Object(root).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_emf_line_declares_its_metrics_and_dimensions() {
        let line = emf_line(
            "RosterBridge",
            &[("Function", "csv-ingest"), ("Status", "applied")],
            &[Metric {
                name: "RecordsWritten",
                value: 12.0,
                unit: "Count",
            }],
            &[("tenant", json!("d1"))],
            1_700_000_000_000,
        );
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "RosterBridge"
        );
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0][1],
            "Status"
        );
        assert_eq!(v["RecordsWritten"], 12.0);
        assert_eq!(v["Status"], "applied");
        assert_eq!(v["tenant"], "d1");
    }
}
