//! `template.yaml` against what the operator relies on (contract section 10):
//! the alarms and their topic, the dashboard's metrics against those the code
//! emits, and the HTTP API's access log.

use serde_yaml_ng::Value;

use crate::template::{is_ref_to, resources, template};

#[test]
fn alarms_watch_what_the_operator_must_act_on_and_go_to_one_topic() {
    let t = template();
    let alarms: Vec<(String, Value)> =
        resources(&t).into_iter().filter(|(_, r)| r["Type"].as_str() == Some("AWS::CloudWatch::Alarm")).collect();
    let describe = |r: &Value| -> String {
        let p = &r["Properties"];
        let dims: Vec<String> = p["Dimensions"]
            .as_sequence()
            .map(|d| d.iter().map(|d| format!("{}={:?}", d["Name"].as_str().unwrap(), d["Value"])).collect())
            .unwrap_or_default();
        format!("{:?} {} {}", p["Namespace"], p["MetricName"].as_str().unwrap(), dims.join(","))
    };
    let all: Vec<String> = alarms.iter().map(|(_, r)| describe(r)).collect();
    let has = |needle: &[&str]| all.iter().any(|a| needle.iter().all(|n| a.contains(n)));
    for function in ["AdminTriggerFunction", "AdminPendingFunction", "HeygenWebhookFunction", "HeygenWorkerFunction"] {
        assert!(has(&["AWS/Lambda", "Errors", function]), "no error alarm for {function}: {all:#?}");
    }
    assert!(has(&["MetricsNamespace", "ArchiveFailures"]), "{all:#?}");
    assert!(has(&["MetricsNamespace", "OldestInFlightSeconds"]), "{all:#?}");
    assert!(has(&["HeygenErrors", "Code=String(\"heygen_auth_failed\")"]), "{all:#?}");
    assert!(has(&["HeygenErrors", "Code=String(\"heygen_insufficient_credit\")"]), "{all:#?}");
    assert!(has(&["AWS/SQS", "ApproximateNumberOfMessagesVisible", "HeygenWorkerFunctionTickQueue"]), "{all:#?}");
    let ticks = alarms.iter().find(|(_, r)| r["Properties"]["MetricName"].as_str() == Some("TickFailures"));
    let ticks = &ticks.expect("an alarm on TickFailures").1["Properties"];
    assert!(is_ref_to(&ticks["Namespace"], "MetricsNamespace"));
    let five_minutes =
        (ticks["Period"].as_u64(), ticks["EvaluationPeriods"].as_u64(), ticks["DatapointsToAlarm"].as_u64());
    assert_eq!(five_minutes, (Some(60), Some(5), Some(5)), "5 consecutive minutes");
    assert_eq!(ticks["Threshold"].as_f64(), Some(1.0));
    assert_eq!(ticks["ComparisonOperator"].as_str(), Some("GreaterThanOrEqualToThreshold"));
    // A month that has waited on its budget for 30 minutes (contract 13.5).
    let budget = alarms.iter().find(|(_, r)| r["Properties"]["MetricName"].as_str() == Some("BudgetBlocked"));
    let budget = &budget.expect("an alarm on BudgetBlocked").1["Properties"];
    let half_an_hour =
        (budget["Period"].as_u64(), budget["EvaluationPeriods"].as_u64(), budget["DatapointsToAlarm"].as_u64());
    assert_eq!(half_an_hour, (Some(60), Some(30), Some(30)), "30 consecutive minutes");
    assert_eq!((budget["Threshold"].as_f64(), budget["Statistic"].as_str()), (Some(0.0), Some("Maximum")));
    assert_eq!(budget["ComparisonOperator"].as_str(), Some("GreaterThanThreshold"));
    let oldest = alarms.iter().find(|(_, r)| r["Properties"]["MetricName"].as_str() == Some("OldestInFlightSeconds"));
    assert_eq!(oldest.unwrap().1["Properties"]["Threshold"].as_u64(), Some(6 * 3600), "six hours");
    for (name, r) in &alarms {
        let actions = format!("{:?}", r["Properties"]["AlarmActions"]);
        assert!(actions.contains("AlarmTopic"), "{name} alarms no one");
        assert_eq!(r["Properties"]["TreatMissingData"].as_str(), Some("notBreaching"), "{name}");
    }
    // The e-mail subscription exists only when an address is given.
    let subscription = &t["Resources"]["AlarmEmailSubscription"];
    assert_eq!(subscription["Condition"].as_str(), Some("HasAlarmEmail"));
    assert_eq!(t["Parameters"]["AlarmEmail"]["Default"].as_str(), Some(""));
    assert!(is_ref_to(&t["Globals"]["Function"]["Environment"]["Variables"]["METRICS_NAMESPACE"], "MetricsNamespace"));
}

/// The string inside a `!Sub`.
fn sub_text(v: &Value) -> &str {
    match v {
        Value::Tagged(tagged) if tagged.tag == "Sub" => tagged.value.as_str().unwrap_or_default(),
        other => panic!("not a !Sub: {other:?}"),
    }
}

#[test]
fn the_dashboard_shows_every_metric_the_code_emits_and_no_other() {
    // Every metric the code emits: shared::metrics::ALL.
    let t = template();
    let body = sub_text(&t["Resources"]["Dashboard"]["Properties"]["DashboardBody"]);
    let body: serde_json::Value = serde_json::from_str(body).expect("the dashboard body is JSON");
    let mut ours = std::collections::BTreeSet::new();
    let mut codes = std::collections::BTreeSet::new();
    let mut aws = std::collections::BTreeSet::new();
    for widget in body["widgets"].as_array().unwrap() {
        for metric in widget["properties"]["metrics"].as_array().unwrap() {
            // A search of the namespace by a dimension (the budgets): the metric it names.
            if let Some(expression) = metric[0]["expression"].as_str() {
                assert!(expression.starts_with("SEARCH('{${MetricsNamespace},Budget} MetricName=\""), "{expression}");
                let name = expression.split('"').nth(1).expect("a metric name");
                ours.insert(name.to_string());
                continue;
            }
            let parts: Vec<&str> = metric.as_array().unwrap().iter().filter_map(|p| p.as_str()).collect();
            match parts.as_slice() {
                ["${MetricsNamespace}", name, rest @ ..] => {
                    ours.insert(name.to_string());
                    if let ["Code", code] = rest {
                        codes.insert(code.to_string());
                    }
                }
                [namespace, name, dimension, value] => {
                    aws.insert(format!("{namespace} {name} {dimension}={value}"));
                }
                other => panic!("a metric of an unexpected shape: {other:?}"),
            }
        }
    }
    let emitted: std::collections::BTreeSet<String> = shared::metrics::ALL.iter().map(|m| m.to_string()).collect();
    assert_eq!(ours, emitted, "the dashboard and the code name the same metrics");
    let contract_codes = [
        "heygen_auth_failed",
        "heygen_insufficient_credit",
        "heygen_rejected",
        "heygen_unavailable",
        "heygen_video_not_found",
    ];
    assert_eq!(codes, contract_codes.iter().map(|c| c.to_string()).collect(), "HeygenErrors by every code");
    for function in ["AdminTriggerFunction", "AdminPendingFunction", "HeygenWebhookFunction", "HeygenWorkerFunction"] {
        for metric in ["Errors", "Throttles", "Duration"] {
            assert!(
                aws.contains(&format!("AWS/Lambda {metric} FunctionName=${{{function}}}")),
                "{function} {metric}: {aws:?}"
            );
        }
    }
    for metric in ["4xx", "5xx"] {
        assert!(aws.contains(&format!("AWS/ApiGateway {metric} ApiId=${{HttpApi}}")), "{metric}: {aws:?}");
    }
    let url = sub_text(&t["Outputs"]["DashboardUrl"]["Value"]);
    assert!(url.contains("#dashboards:name=${Dashboard}"), "{url}");
}

#[test]
fn the_http_api_logs_each_request_as_json_and_its_5xx_and_the_webhooks_throttles_alarm() {
    let t = template();
    let settings = &t["Resources"]["HttpApi"]["Properties"]["AccessLogSettings"];
    let destination = format!("{:?}", settings["DestinationArn"]);
    assert!(destination.contains("ApiAccessLogGroup") && destination.contains("Arn"), "{destination}");
    let format: serde_json::Value = serde_json::from_str(settings["Format"].as_str().unwrap()).expect("a JSON format");
    for (field, variable) in [
        ("requestId", "$context.requestId"),
        ("routeKey", "$context.routeKey"),
        ("status", "$context.status"),
        ("latencyMs", "$context.responseLatency"),
        ("authorizerError", "$context.authorizer.error"),
    ] {
        assert_eq!(format[field], variable, "{field}");
    }
    let group = &t["Resources"]["ApiAccessLogGroup"]["Properties"];
    assert!(is_ref_to(&group["RetentionInDays"], "LogRetentionDays"), "the template's retention");
    let alarm = |name: &str| t["Resources"][name]["Properties"].clone();
    let api = alarm("ApiServerErrorsAlarm");
    assert_eq!((api["Namespace"].as_str(), api["MetricName"].as_str()), (Some("AWS/ApiGateway"), Some("5xx")));
    assert!(is_ref_to(&api["Dimensions"][0]["Value"], "HttpApi") && api["Dimensions"][0]["Name"] == "ApiId");
    let throttles = alarm("WebhookThrottlesAlarm");
    assert_eq!(
        (throttles["Namespace"].as_str(), throttles["MetricName"].as_str()),
        (Some("AWS/Lambda"), Some("Throttles"))
    );
    assert!(is_ref_to(&throttles["Dimensions"][0]["Value"], "HeygenWebhookFunction"));
    for properties in [api, throttles] {
        assert!(format!("{:?}", properties["AlarmActions"]).contains("AlarmTopic"));
        assert_eq!(properties["Threshold"].as_f64(), Some(1.0));
    }
}
