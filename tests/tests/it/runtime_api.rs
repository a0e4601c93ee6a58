//! The shipped binaries, run the way Lambda runs them (Runtime API), through one
//! whole flow: trigger -> HeyGen callback -> webhook -> nothing pending -> the
//! item has its video and is `submitted`.

use serde_json::json;
use tests::runtime_api::Function;
use tests::stack::{Stack, WEBHOOK_SECRET, event, webhook_event};

#[tokio::test]
async fn the_binaries_carry_a_video_from_trigger_to_submitted() {
    let stack = Stack::new().await;
    stack.creator("cr-a", Some("av-a"), Some("vo-a")).await;
    stack.content("c-1", "cr-a", "2026-03-01", json!({})).await;
    stack.heygen_accepts_creates().await;
    stack.heygen_status("vid-c-1:1", "completed").await;
    let env = stack.lambda_env();
    let (trigger, webhook, pending) = (
        Function::start("admin-trigger", &env).await,
        Function::start("heygen-webhook", &env).await,
        Function::start("admin-pending", &env).await,
    );

    let (status, body) = trigger.call(&event("trigger")).await;
    assert_eq!(status, 200, "{body}\n{}", trigger.logs());
    assert_eq!(body["triggered"], 1);

    let (status, body) = pending.call(&event("pending")).await;
    assert_eq!((status, body["count"].as_u64()), (200, Some(1)), "{body}");

    // HeyGen calls back with what the create carried.
    let create: serde_json::Value = serde_json::from_slice(&stack.creates_received().await[0].body).unwrap();
    assert!(create["callback_url"].as_str().unwrap().ends_with("/webhooks/heygen"));
    let notice = json!({"event_type": "avatar_video.success", "event_data": {
        "video_id": "vid-c-1:1", "url": "https://files.heygen.ai/notice.mp4", "callback_id": create["callback_id"],
    }});
    let (status, body) = webhook.call(&webhook_event(&notice, Some(("heygen-signature", WEBHOOK_SECRET)))).await;
    assert_eq!((status, body), (200, json!({"received": true})), "{}", webhook.logs());

    let (status, body) = pending.call(&event("pending")).await;
    assert_eq!((status, body["count"].as_u64()), (200, Some(0)), "{body}");
    let item = stack.tables.content_raw("c-1").await;
    assert_eq!(item["creator_video_url"], "https://files.heygen.ai/vid-c-1:1.mp4?sig=fresh");
    assert_eq!(item["status"], "submitted");

    // Metrics as CloudWatch Embedded Metric Format lines, without dimensions.
    let requested = tests::emf_metrics(&trigger.logs());
    let one = |name: &str| tests::Emf {
        namespace: "HeygenPipeline".into(),
        name: name.into(),
        dimensions: vec![],
        value: 1.0,
    };
    assert!(requested.contains(&one("RendersRequested")), "{requested:?}\n{}", trigger.logs());
    let completed = tests::emf_metrics(&webhook.logs());
    assert!(completed.contains(&one("RendersCompleted")), "{completed:?}");

    // The functions log JSON lines, with the request id and without the key.
    let logs = trigger.logs();
    assert!(logs.lines().any(|l| l.starts_with('{') && l.contains("render requested")), "{logs}");
    assert!(!logs.contains(tests::stack::API_KEY));
}

#[tokio::test]
async fn a_missing_required_variable_fails_start_up_naming_it() {
    let stack = Stack::new().await;
    let env: Vec<_> = stack.lambda_env().into_iter().filter(|(k, _)| *k != "CONTENT_TABLE").collect();
    let mut f = Function::start("admin-trigger", &env).await;
    let _ = &mut f;
    // Give it time to start and fail.
    for _ in 0..100 {
        if f.logs().contains("CONTENT_TABLE") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(f.logs().contains("CONTENT_TABLE"), "{}", f.logs());
}
