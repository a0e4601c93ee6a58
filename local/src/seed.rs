//! Demo data for the local stack: creators of every kind and a month of content
//! in both modes, some assigned, some with videos already.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};
use shared::config::TableNames;
use shared::domain::Month;

pub struct Seeded {
    pub creators: usize,
    pub items: usize,
}

async fn put(client: &aws_sdk_dynamodb::Client, table: &str, item: Value) -> Result<(), Box<dyn std::error::Error>> {
    let item: HashMap<String, AttributeValue> = serde_dynamo::to_item(item)?;
    client.put_item().table_name(table).set_item(Some(item)).send().await?;
    Ok(())
}

const VERSES: [&str; 7] = [
    "The Lord is my shepherd; I shall not want.",
    "Be strong and courageous. Do not be afraid.",
    "Love is patient, love is kind.",
    "This is the day that the Lord has made; let us rejoice and be glad in it.",
    "Cast all your anxiety on Him because He cares for you.",
    "Trust in the Lord with all your heart.",
    "Let your light shine before others.",
];

const THOUGHTS: [&str; 5] = [
    "Small steps still move you forward.",
    "Today is a good day to be kind to yourself.",
    "Gratitude turns what we have into enough.",
    "You are stronger than you think.",
    "Every sunrise is an invitation to begin again.",
];

/// Seeds the demo creators, settings and a month of content.
pub async fn demo(
    client: &aws_sdk_dynamodb::Client,
    tables: &TableNames,
    month: Month,
    settings: &[(&str, &str)],
) -> Result<Seeded, Box<dyn std::error::Error>> {
    let creators = [
        json!({"creator_id": "cr-grace", "name": "Grace (AI)", "is_ai": true, "active": true,
               "heygen_avatar_ids": {"bible": "sim-avatar-grace", "positivity": "sim-avatar-grace-bright"},
               "heygen_voice_ids": {"bible": "sim-voice-grace"}}),
        json!({"creator_id": "cr-joy", "name": "Joy (AI, no bible avatar)", "is_ai": true, "active": true,
               "heygen_avatar_ids": {"positivity": "sim-avatar-joy"}}),
        json!({"creator_id": "cr-hope", "name": "Hope (AI, inactive)", "is_ai": true, "active": false,
               "heygen_avatar_ids": {"bible": "sim-avatar-hope", "positivity": "sim-avatar-hope"}}),
        json!({"creator_id": "cr-dan", "name": "Pastor Dan (human)", "is_ai": false, "active": true}),
    ];
    for c in &creators {
        put(client, &tables.creators, c.clone()).await?;
    }
    for (key, value) in settings {
        put(client, &tables.settings, json!({"key": key, "value": value})).await?;
    }
    let days = time::util::days_in_month(
        time::Month::try_from(month.number()).map_err(|e| e.to_string())?,
        i32::from(month.year()),
    );
    let mut items = 0;
    for day in 1..=days {
        let date = format!("{month}-{day:02}");
        let bible_creator = match day {
            4 => Some("cr-joy"),  // no bible avatar: not eligible
            5 => Some("cr-hope"), // inactive
            6 => Some("cr-dan"),  // human
            d if d % 10 == 0 => None,
            _ => Some("cr-grace"),
        };
        let mut bible = json!({
            "content_id": format!("bible-{date}"), "date": date, "mode": "bible", "status": "draft",
            "title": format!("Daily verse, {date}"),
            "script": VERSES[usize::from(day) % VERSES.len()],
        });
        if let Some(c) = bible_creator {
            bible["assigned_creator_id"] = c.into();
        }
        if day <= 3 {
            bible["creator_video_url"] = format!("https://cdn.example/videos/bible-{date}.mp4").into();
            bible["status"] = "submitted".into();
        }
        put(client, &tables.content, bible).await?;
        let mut positivity = json!({
            "content_id": format!("positivity-{date}"), "date": date, "mode": "positivity", "status": "draft",
            "title": format!("Daily lift, {date}"),
            "script": THOUGHTS[usize::from(day) % THOUGHTS.len()],
            "assigned_creator_id": if day % 2 == 1 { "cr-joy" } else { "cr-grace" },
        });
        if day == 2 {
            positivity["creator_video_url"] = format!("https://cdn.example/videos/positivity-{date}.mp4").into();
        }
        put(client, &tables.content, positivity).await?;
        items += 2;
    }
    Ok(Seeded { creators: creators.len(), items })
}

/// For `make bench`'s month: one eligible creator and `items` bible items over
/// the month (several a day when there are more items than days).
pub async fn bench(
    client: &aws_sdk_dynamodb::Client,
    tables: &TableNames,
    month: Month,
    items: usize,
    settings: &[(&str, &str)],
) -> Result<Seeded, Box<dyn std::error::Error>> {
    put(
        client,
        &tables.creators,
        json!({"creator_id": "cr-bench", "name": "Bench (AI)", "is_ai": true,
        "active": true, "heygen_avatar_ids": {"bible": "sim-avatar-bench"}}),
    )
    .await?;
    for (key, value) in settings {
        put(client, &tables.settings, json!({"key": key, "value": value})).await?;
    }
    for i in 0..items {
        let date = format!("{month}-{:02}", i % 28 + 1);
        put(
            client,
            &tables.content,
            json!({
                "content_id": format!("bench-{i:04}"), "date": date, "mode": "bible", "status": "draft",
                "script": VERSES[i % VERSES.len()], "assigned_creator_id": "cr-bench",
            }),
        )
        .await?;
    }
    Ok(Seeded { creators: 1, items })
}

/// One bible item for a real HeyGen render (costs money): `avatar_id` must be
/// an avatar of the account.
pub async fn single(
    client: &aws_sdk_dynamodb::Client,
    tables: &TableNames,
    month: Month,
    avatar_id: &str,
    voice_id: Option<&str>,
) -> Result<Seeded, Box<dyn std::error::Error>> {
    let mut creator = json!({"creator_id": "cr-real", "name": "Real HeyGen avatar", "is_ai": true, "active": true,
                             "heygen_avatar_ids": {"bible": avatar_id}});
    if let Some(v) = voice_id {
        creator["heygen_voice_ids"] = json!({"bible": v});
    }
    put(client, &tables.creators, creator).await?;
    put(client, &tables.content, json!({
        "content_id": format!("bible-{month}-01"), "date": format!("{month}-01"), "mode": "bible", "status": "draft",
        "title": "Local test render", "script": VERSES[0], "assigned_creator_id": "cr-real",
    }))
    .await?;
    Ok(Seeded { creators: 1, items: 1 })
}
