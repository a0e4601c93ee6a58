//! CloudWatch Embedded Metric Format lines, read back from a function's logs.

use serde_json::Value;

/// One metric of a CloudWatch Embedded Metric Format line a function logged.
#[derive(Clone, Debug, PartialEq)]
pub struct Emf {
    pub namespace: String,
    pub name: String,
    /// The dimensions' names and values.
    pub dimensions: Vec<(String, String)>,
    pub value: f64,
}

/// Every metric in the EMF lines of `logs` (JSON lines with an `_aws` member).
pub fn emf_metrics(logs: &str) -> Vec<Emf> {
    let mut out = Vec::new();
    for line in logs.lines().filter(|l| l.starts_with('{') && l.contains("\"_aws\"")) {
        let Ok(doc) = serde_json::from_str::<Value>(line) else { continue };
        for directive in doc["_aws"]["CloudWatchMetrics"].as_array().into_iter().flatten() {
            let namespace = directive["Namespace"].as_str().unwrap_or_default().to_string();
            let names: Vec<String> = directive["Dimensions"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|set| set.as_array().cloned().unwrap_or_default())
                .filter_map(|d| d.as_str().map(str::to_string))
                .collect();
            for metric in directive["Metrics"].as_array().into_iter().flatten() {
                let name = metric["Name"].as_str().unwrap_or_default().to_string();
                let value = doc[&name].as_f64().or_else(|| doc[&name][0].as_f64()).unwrap_or(f64::NAN);
                let dimensions =
                    names.iter().map(|d| (d.clone(), doc[d].as_str().unwrap_or_default().to_string())).collect();
                out.push(Emf { namespace: namespace.clone(), name, dimensions, value });
            }
        }
    }
    out
}
