//! `template.yaml` against the contract: routes and their auth, functions and
//! their binaries, timeouts, the environment the functions read, least privilege.

use serde_yaml_ng::Value;

pub(crate) fn template() -> Value {
    serde_yaml_ng::from_str(tests::TEMPLATE).unwrap()
}

pub(crate) fn resources(t: &Value) -> Vec<(String, Value)> {
    t["Resources"].as_mapping().unwrap().iter().map(|(k, v)| (k.as_str().unwrap().to_string(), v.clone())).collect()
}

fn functions(t: &Value) -> Vec<(String, Value)> {
    resources(t).into_iter().filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::Function")).collect()
}

#[test]
fn every_contract_route_goes_to_its_function_with_its_auth() {
    let t = template();
    let mut routes = Vec::new();
    for (_, f) in functions(&t) {
        let binary = f["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap().to_string();
        for (_, e) in f["Properties"]["Events"].as_mapping().unwrap() {
            if binary == "heygen-worker" {
                assert_eq!(e["Type"].as_str(), Some("ScheduleV2"), "the worker has no route");
                continue;
            }
            assert_eq!(e["Type"].as_str(), Some("HttpApi"));
            let p = &e["Properties"];
            let auth = p["Auth"]["Authorizer"].as_str().unwrap().to_string();
            routes.push((
                p["Method"].as_str().unwrap().to_string(),
                p["Path"].as_str().unwrap().to_string(),
                binary.clone(),
                auth,
            ));
        }
    }
    routes.sort();
    let expected = [
        ("GET", "/admin/content-production/heygen", "admin-pending", "AdminJwt"),
        ("GET", "/admin/content-production/heygen/progress", "admin-pending", "AdminJwt"),
        ("GET", "/webhooks/heygen", "heygen-webhook", "NONE"),
        ("OPTIONS", "/webhooks/heygen", "heygen-webhook", "NONE"),
        ("POST", "/admin/content-production/heygen", "admin-trigger", "AdminJwt"),
        ("POST", "/admin/content-production/heygen/cancel", "admin-trigger", "AdminJwt"),
        ("POST", "/webhooks/heygen", "heygen-webhook", "NONE"),
    ];
    let got: Vec<_> = routes.iter().map(|(m, p, b, a)| (m.as_str(), p.as_str(), b.as_str(), a.as_str())).collect();
    assert_eq!(got, expected);
}

#[test]
fn functions_are_built_from_the_workspace_with_their_timeouts() {
    let t = template();
    let globals = &t["Globals"]["Function"];
    assert_eq!(globals["Runtime"].as_str(), Some("provided.al2023"));
    assert_eq!(globals["Handler"].as_str(), Some("bootstrap"));
    assert_eq!(globals["Architectures"][0].as_str(), Some("arm64"));
    assert_eq!(globals["LoggingConfig"]["LogFormat"].as_str(), Some("JSON"));
    for (name, f) in functions(&t) {
        assert_eq!(f["Metadata"]["BuildMethod"].as_str(), Some("rust-cargolambda"), "{name}");
        assert_eq!(f["Properties"]["CodeUri"].as_str(), Some("."), "{name}");
        let binary = f["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap();
        let manifest = format!("{}/../functions/{binary}/Cargo.toml", env!("CARGO_MANIFEST_DIR"));
        assert!(std::path::Path::new(&manifest).exists(), "{name}: no crate for binary {binary}");
        let timeout = f["Properties"]["Timeout"].as_u64().unwrap();
        let want = match binary {
            "heygen-webhook" => 10,
            "heygen-worker" => 55,
            _ => 29,
        };
        assert_eq!(timeout, want, "{name}");
        // The Runtime API emulator gives each invocation the same time.
        assert_eq!(devkit::runtime_api::lambda_timeout(binary).as_secs(), timeout, "{name}");
    }
}

#[test]
fn the_functions_get_every_variable_they_require() {
    let t = template();
    let vars = t["Globals"]["Function"]["Environment"]["Variables"].as_mapping().unwrap();
    for name in ["SETTINGS_TABLE", "CREATORS_TABLE", "CONTENT_TABLE", "HEYGEN_SECRET_ID"] {
        assert!(vars.contains_key(name), "{name} missing");
    }
    // And nothing that the configuration does not know.
    let known = [
        "SETTINGS_TABLE",
        "CREATORS_TABLE",
        "CONTENT_TABLE",
        "HEYGEN_SECRET_ID",
        "HEYGEN_API_BASE_URL",
        "HEYGEN_CALLBACK_URL",
        "HEYGEN_CLAIM_STALE_SECONDS",
        "HEYGEN_RECONCILE_AFTER_SECONDS",
        "HEYGEN_LOST_AFTER_SECONDS",
        "ADMIN_GROUP",
        "ADMIN_GROUPS_CLAIM",
        "METRICS_NAMESPACE",
        "VIDEO_BUCKET",
        "VIDEO_BASE_URL",
    ];
    for (k, _) in vars {
        assert!(known.contains(&k.as_str().unwrap()), "{k:?} is not read by the functions");
    }
}

#[test]
fn the_read_only_listing_cannot_claim_and_no_function_can_delete_or_scan_content() {
    let t = template();
    for (name, f) in functions(&t) {
        let actions: Vec<String> = f["Properties"]["Policies"]
            .as_sequence()
            .unwrap()
            .iter()
            .flat_map(|p| p["Statement"].as_sequence().unwrap().clone())
            .flat_map(|s| match &s["Action"] {
                Value::String(a) => vec![a.clone()],
                Value::Sequence(list) => list.iter().map(|a| a.as_str().unwrap().to_string()).collect(),
                _ => vec![],
            })
            .collect();
        for forbidden in ["dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:*", "secretsmanager:*"] {
            assert!(!actions.iter().any(|a| a == forbidden), "{name} has {forbidden}");
        }
        assert!(actions.contains(&"secretsmanager:GetSecretValue".to_string()), "{name}");
    }
}

#[test]
fn functions_may_write_only_the_services_own_settings() {
    // Section 11: UpdateItem on the settings table only under keys starting with
    // `_` (the render slots); the platform's settings are read-only.
    let t = template();
    let mut writers = 0;
    for (name, f) in functions(&t) {
        for policy in f["Properties"]["Policies"].as_sequence().unwrap() {
            for statement in policy["Statement"].as_sequence().unwrap() {
                let on_settings = format!("{:?}", statement["Resource"]).contains("SettingsTable");
                let actions = format!("{:?}", statement["Action"]);
                if !on_settings || !(actions.contains("Update") || actions.contains("Put") || actions.contains('*')) {
                    continue;
                }
                writers += 1;
                assert_eq!(actions, "String(\"dynamodb:UpdateItem\")", "{name}: only UpdateItem");
                let keys = &statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"];
                let keys: Vec<&str> =
                    keys.as_sequence().map(|k| k.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
                assert_eq!(keys, ["_*"], "{name}: settings writes not limited to _-prefixed keys");
            }
        }
    }
    assert_eq!(writers, 4, "every function frees render slots");
}

#[test]
fn tables_are_retained_and_content_has_point_in_time_recovery() {
    let t = template();
    for (name, r) in resources(&t) {
        if r["Type"].as_str() == Some("AWS::DynamoDB::Table") {
            assert_eq!(r["DeletionPolicy"].as_str(), Some("Retain"), "{name}");
            assert_eq!(r["UpdateReplacePolicy"].as_str(), Some("Retain"), "{name}");
        }
    }
    let pitr = &t["Resources"]["ContentTable"]["Properties"]["PointInTimeRecoverySpecification"];
    assert_eq!(pitr["PointInTimeRecoveryEnabled"].as_bool(), Some(true));
}

/// `!Ref Name` as serde_yaml_ng reads it: a tagged value.
pub(crate) fn is_ref_to(v: &Value, name: &str) -> bool {
    match v {
        Value::Tagged(tagged) => tagged.tag == "Ref" && tagged.value.as_str() == Some(name),
        _ => false,
    }
}

#[test]
fn the_open_webhook_route_is_throttled_and_its_function_capped() {
    let t = template();
    let webhook = &t["Resources"]["HeygenWebhookFunction"]["Properties"];
    let notice = &webhook["Events"]["Notice"]["Properties"];
    assert_eq!(notice["Method"].as_str(), Some("POST"));
    let throttle = &notice["RouteSettings"];
    assert!(is_ref_to(&throttle["ThrottlingRateLimit"], "WebhookRateLimit"), "{throttle:?}");
    assert!(is_ref_to(&throttle["ThrottlingBurstLimit"], "WebhookBurstLimit"), "{throttle:?}");
    for name in ["WebhookRateLimit", "WebhookBurstLimit", "WebhookReservedConcurrency"] {
        let p = &t["Parameters"][name];
        assert_eq!(p["Type"].as_str(), Some("Number"), "{name}");
        assert!(p["Default"].as_u64().unwrap() >= 1, "{name} has a usable default");
    }
    // The reservation is the parameter's, or none when it is 0 (accounts whose
    // quota leaves nothing to reserve).
    let reserved = format!("{:?}", webhook["ReservedConcurrentExecutions"]);
    assert!(reserved.contains("WebhookReservedConcurrency") && reserved.contains("AWS::NoValue"), "{reserved}");
    // The admin routes are not throttled by the webhook's limits.
    let trigger = &t["Resources"]["AdminTriggerFunction"]["Properties"];
    assert!(trigger["Events"]["Trigger"]["Properties"].get("RouteSettings").is_none());
    assert!(trigger.get("ReservedConcurrentExecutions").is_none());
}

#[test]
fn the_worker_ticks_on_a_schedule_with_retries_and_a_dead_letter_queue() {
    let t = template();
    let worker = &t["Resources"]["HeygenWorkerFunction"];
    assert_eq!(worker["Metadata"]["BuildProperties"]["Binary"].as_str(), Some("heygen-worker"));
    let tick = &worker["Properties"]["Events"]["Tick"];
    assert_eq!(tick["Type"].as_str(), Some("ScheduleV2"));
    let p = &tick["Properties"];
    assert!(is_ref_to(&p["ScheduleExpression"], "WorkerSchedule"), "{p:?}");
    assert_eq!(t["Parameters"]["WorkerSchedule"]["Default"].as_str(), Some("rate(1 minute)"));
    assert_eq!(p["Input"].as_str(), Some("{}"));
    assert!(p["RetryPolicy"]["MaximumRetryAttempts"].as_u64().unwrap() >= 1);
    assert_eq!(p["DeadLetterConfig"]["Type"].as_str(), Some("SQS"));
    // Its own log group, and no route.
    let logs = format!("{:?}", worker["Properties"]["LoggingConfig"]["LogGroup"]);
    assert!(logs.contains("HeygenWorkerLogGroup"), "{logs}");
}

#[test]
fn the_queue_index_is_declared_and_each_function_reads_only_the_indexes_it_queries() {
    let t = template();
    let indexes = format!("{:?}", t["Resources"]["ContentTable"]["Properties"]["GlobalSecondaryIndexes"]);
    assert!(indexes.contains("queue_by_order") && indexes.contains("heygen_queue_order"), "{indexes}");
    let queried = |function: &str| -> String {
        let statements = &t["Resources"][function]["Properties"]["Policies"][0]["Statement"];
        statements
            .as_sequence()
            .unwrap()
            .iter()
            .filter(|s| format!("{:?}", s["Action"]).contains("dynamodb:Query"))
            .map(|s| format!("{:?}", s["Resource"]))
            .collect()
    };
    assert!(queried("HeygenWorkerFunction").contains("queue_by_order"));
    assert!(queried("HeygenWorkerFunction").contains("pending_by_requested_at"));
    assert!(!queried("HeygenWorkerFunction").contains("by_creator_date"), "the worker never lists a month");
    // The webhook counts the queue before waking the worker (section 9); it
    // never claims (no dispatch: it cannot wait for a create).
    assert!(queried("HeygenWebhookFunction").contains("queue_by_order"));
    assert!(queried("AdminPendingFunction").contains("by_creator_date"), "the progress reads a month by creator");
    // No function scans the content table (section 12: the progress queries).
    for (name, f) in functions(&t) {
        for statement in f["Properties"]["Policies"][0]["Statement"].as_sequence().unwrap() {
            if format!("{:?}", statement["Action"]).contains("dynamodb:Scan") {
                let resource = format!("{:?}", statement["Resource"]);
                assert!(!resource.contains("ContentTable"), "{name} may scan the content table: {resource}");
            }
        }
    }
}

#[test]
fn the_worker_runs_one_tick_at_a_time_unless_told_otherwise() {
    let t = template();
    let worker = &t["Resources"]["HeygenWorkerFunction"]["Properties"];
    let reserved = format!("{:?}", worker["ReservedConcurrentExecutions"]);
    assert!(
        reserved.contains("ReserveWorkerConcurrency") && reserved.contains("WorkerReservedConcurrency"),
        "{reserved}"
    );
    assert_eq!(t["Parameters"]["WorkerReservedConcurrency"]["Default"].as_u64(), Some(1));
    let condition = format!("{:?}", t["Conditions"]["ReserveWorkerConcurrency"]);
    assert!(
        condition.contains("WorkerReservedConcurrency") && condition.contains('0'),
        "0 reserves nothing: {condition}"
    );
}

#[test]
fn the_functions_that_free_slots_may_invoke_the_worker_and_nothing_else() {
    let t = template();
    for (name, f) in functions(&t) {
        let statements = f["Properties"]["Policies"][0]["Statement"].as_sequence().unwrap().clone();
        let invokes: Vec<&Value> =
            statements.iter().filter(|s| format!("{:?}", s["Action"]).contains("lambda:")).collect();
        let variable = &f["Properties"]["Environment"]["Variables"]["HEYGEN_WORKER_FUNCTION"];
        if ["HeygenWebhookFunction", "AdminPendingFunction"].contains(&name.as_str()) {
            assert_eq!(invokes.len(), 1, "{name}");
            assert_eq!(invokes[0]["Action"].as_str(), Some("lambda:InvokeFunction"), "{name}");
            let resource = format!("{:?}", invokes[0]["Resource"]);
            assert!(resource.contains("HeygenWorkerFunction") && resource.contains("Arn"), "{name}: {resource}");
            assert!(format!("{variable:?}").contains("HeygenWorkerFunction"), "{name}: {variable:?}");
        } else {
            assert!(invokes.is_empty(), "{name} may invoke a function");
            assert!(variable.is_null(), "{name} wakes no worker");
        }
    }
}

#[test]
fn the_video_bucket_is_private_kept_and_served_only_through_its_cdn() {
    let t = template();
    let bucket = &t["Resources"]["VideoBucket"];
    assert_eq!(bucket["DeletionPolicy"].as_str(), Some("Retain"));
    let p = &bucket["Properties"];
    assert_eq!(p["VersioningConfiguration"]["Status"].as_str(), Some("Enabled"));
    let encryption = format!("{:?}", p["BucketEncryption"]);
    assert!(encryption.contains("SSEAlgorithm"), "{encryption}");
    for flag in ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"] {
        assert_eq!(p["PublicAccessBlockConfiguration"][flag].as_bool(), Some(true), "{flag}");
    }
    let rules = format!("{:?}", p["LifecycleConfiguration"]["Rules"]);
    assert!(rules.contains("AbortIncompleteMultipartUpload"), "{rules}");
    // CloudFront with origin access control, and a policy that lets only it read.
    let distribution = &t["Resources"]["VideoDistribution"]["Properties"]["DistributionConfig"];
    let origin = format!("{:?}", distribution["Origins"]);
    assert!(origin.contains("VideoOriginAccessControl") && origin.contains("VideoBucket"), "{origin}");
    assert_eq!(distribution["DefaultCacheBehavior"]["ViewerProtocolPolicy"].as_str(), Some("redirect-to-https"));
    let policy = &t["Resources"]["VideoBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"];
    let allows: Vec<&Value> =
        policy.as_sequence().unwrap().iter().filter(|s| s["Effect"].as_str() == Some("Allow")).collect();
    assert_eq!(allows.len(), 1);
    assert_eq!(allows[0]["Principal"]["Service"].as_str(), Some("cloudfront.amazonaws.com"));
    assert!(format!("{:?}", allows[0]["Condition"]).contains("VideoDistribution"));
    // VIDEO_BASE_URL: the operator's CDN when given, else the distribution's.
    let base = format!("{:?}", t["Globals"]["Function"]["Environment"]["Variables"]["VIDEO_BASE_URL"]);
    assert!(base.contains("VideoBaseUrl") && base.contains("VideoDistribution.DomainName"), "{base}");
    // Only the worker touches the bucket, and only videos/* (and lists it).
    for (name, f) in functions(&t) {
        let statements = f["Properties"]["Policies"][0]["Statement"].as_sequence().unwrap().clone();
        let s3: Vec<&Value> = statements.iter().filter(|s| format!("{:?}", s["Action"]).contains("s3:")).collect();
        if name != "HeygenWorkerFunction" {
            assert!(s3.is_empty(), "{name} has S3 rights");
            continue;
        }
        for statement in s3 {
            let actions = format!("{:?}", statement["Action"]);
            let resource = format!("{:?}", statement["Resource"]);
            if actions.contains("s3:ListBucket") {
                assert!(!actions.contains("Put"), "{actions}");
            } else {
                assert!(resource.contains("/videos/*"), "{resource}");
                assert!(!actions.contains("Delete") && !actions.contains("s3:*"), "{actions}");
            }
        }
    }
}
