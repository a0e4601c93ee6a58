//! The functions' configuration: the environment of contract section 5, read once
//! at start-up; a missing required variable fails start-up naming it.

use std::time::Duration;

pub const DEFAULT_HEYGEN_API_BASE_URL: &str = "https://api.heygen.com";
pub const DEFAULT_CLAIM_STALE_SECONDS: u64 = 600;
pub const DEFAULT_RECONCILE_AFTER_SECONDS: u64 = 300;
pub const DEFAULT_LOST_AFTER_SECONDS: u64 = 3_600;
pub const DEFAULT_METRICS_NAMESPACE: &str = "HeygenPipeline";
pub const DEFAULT_ADMIN_GROUP: &str = "admin";
pub const DEFAULT_ADMIN_GROUPS_CLAIM: &str = "cognito:groups";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableNames {
    pub settings: String,
    pub creators: String,
    pub content: String,
}

/// Durable copies (section 8): the bucket, and the URL it is served from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchiveConfig {
    pub bucket: String,
    /// Without a trailing slash.
    pub base_url: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub tables: TableNames,
    pub heygen_secret_id: String,
    /// Without a trailing slash.
    pub heygen_api_base_url: String,
    pub heygen_callback_url: Option<String>,
    pub claim_stale_after: Duration,
    /// A pending item not checked for this long is checked by the worker.
    pub reconcile_after: Duration,
    /// How long HeyGen must keep saying it does not know a pending video before
    /// the render is given up (section 11).
    pub lost_after: Duration,
    pub admin_group: String,
    pub admin_groups_claim: String,
    /// CloudWatch namespace of the metrics (section 10).
    pub metrics_namespace: String,
    /// `VIDEO_BUCKET` and `VIDEO_BASE_URL`; `None`: completion attaches HeyGen's link.
    pub archive: Option<ArchiveConfig>,
    /// `HEYGEN_WORKER_FUNCTION`: the worker invoked when a render slot frees
    /// (section 9); `None`: no invoke, the schedule alone feeds the queue.
    pub worker_function: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is required but not set")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: &'static str },
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (the environment in production).
    /// Empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let optional = |name: &str| lookup(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let required = |name: &'static str| optional(name).ok_or(ConfigError::Missing(name));

        let base = optional("HEYGEN_API_BASE_URL").unwrap_or_else(|| DEFAULT_HEYGEN_API_BASE_URL.to_string());
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(ConfigError::Invalid { name: "HEYGEN_API_BASE_URL", reason: "must be an http(s) URL" });
        }
        let stale = match optional("HEYGEN_CLAIM_STALE_SECONDS") {
            None => DEFAULT_CLAIM_STALE_SECONDS,
            Some(v) => v.parse::<u64>().ok().filter(|s| *s > 0).ok_or(ConfigError::Invalid {
                name: "HEYGEN_CLAIM_STALE_SECONDS",
                reason: "must be a whole number of seconds above 0",
            })?,
        };
        let reconcile = match optional("HEYGEN_RECONCILE_AFTER_SECONDS") {
            None => DEFAULT_RECONCILE_AFTER_SECONDS,
            Some(v) => v.parse::<u64>().map_err(|_| ConfigError::Invalid {
                name: "HEYGEN_RECONCILE_AFTER_SECONDS",
                reason: "must be a whole number of seconds",
            })?,
        };
        let lost = match optional("HEYGEN_LOST_AFTER_SECONDS") {
            None => DEFAULT_LOST_AFTER_SECONDS,
            Some(v) => v.parse::<u64>().map_err(|_| ConfigError::Invalid {
                name: "HEYGEN_LOST_AFTER_SECONDS",
                reason: "must be a whole number of seconds",
            })?,
        };
        let archive = match optional("VIDEO_BUCKET") {
            None => None,
            Some(bucket) => {
                let base_url = required("VIDEO_BASE_URL")?;
                if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
                    return Err(ConfigError::Invalid { name: "VIDEO_BASE_URL", reason: "must be an http(s) URL" });
                }
                Some(ArchiveConfig { bucket, base_url: base_url.trim_end_matches('/').to_string() })
            }
        };
        Ok(Self {
            tables: TableNames {
                settings: required("SETTINGS_TABLE")?,
                creators: required("CREATORS_TABLE")?,
                content: required("CONTENT_TABLE")?,
            },
            heygen_secret_id: required("HEYGEN_SECRET_ID")?,
            heygen_api_base_url: base.trim_end_matches('/').to_string(),
            heygen_callback_url: optional("HEYGEN_CALLBACK_URL"),
            claim_stale_after: Duration::from_secs(stale),
            reconcile_after: Duration::from_secs(reconcile),
            lost_after: Duration::from_secs(lost),
            admin_group: optional("ADMIN_GROUP").unwrap_or_else(|| DEFAULT_ADMIN_GROUP.to_string()),
            admin_groups_claim: optional("ADMIN_GROUPS_CLAIM")
                .unwrap_or_else(|| DEFAULT_ADMIN_GROUPS_CLAIM.to_string()),
            metrics_namespace: optional("METRICS_NAMESPACE").unwrap_or_else(|| DEFAULT_METRICS_NAMESPACE.to_string()),
            archive,
            worker_function: optional("HEYGEN_WORKER_FUNCTION"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const REQUIRED: [(&str, &str); 4] = [
        ("SETTINGS_TABLE", "settings"),
        ("CREATORS_TABLE", "creators"),
        ("CONTENT_TABLE", "content"),
        ("HEYGEN_SECRET_ID", "heygen"),
    ];

    fn env(extra: &[(&str, &str)]) -> HashMap<String, String> {
        REQUIRED.iter().chain(extra).map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn load(env: &HashMap<String, String>) -> Result<Config, ConfigError> {
        Config::from_lookup(|k| env.get(k).cloned())
    }

    #[test]
    fn defaults_apply_when_optional_variables_are_unset() {
        let c = load(&env(&[])).unwrap();
        assert_eq!(
            c.tables,
            TableNames { settings: "settings".into(), creators: "creators".into(), content: "content".into() }
        );
        assert_eq!(c.heygen_secret_id, "heygen");
        assert_eq!(c.heygen_api_base_url, "https://api.heygen.com");
        assert_eq!(c.heygen_callback_url, None);
        assert_eq!(c.claim_stale_after, Duration::from_secs(600));
        assert_eq!(c.reconcile_after, Duration::from_secs(300));
        assert_eq!(c.lost_after, Duration::from_secs(3_600));
        assert_eq!(c.admin_group, "admin");
        assert_eq!(c.admin_groups_claim, "cognito:groups");
        assert_eq!(c.metrics_namespace, "HeygenPipeline");
        assert_eq!(c.archive, None);
    }

    #[test]
    fn a_video_bucket_needs_its_base_url() {
        assert_eq!(load(&env(&[("VIDEO_BUCKET", "videos")])), Err(ConfigError::Missing("VIDEO_BASE_URL")));
        let c = load(&env(&[("VIDEO_BUCKET", "videos"), ("VIDEO_BASE_URL", "https://d1.cloudfront.net/")])).unwrap();
        let want = ArchiveConfig { bucket: "videos".into(), base_url: "https://d1.cloudfront.net".into() };
        assert_eq!(c.archive, Some(want));
        let bad = load(&env(&[("VIDEO_BUCKET", "videos"), ("VIDEO_BASE_URL", "d1.cloudfront.net")]));
        assert!(bad.unwrap_err().to_string().contains("VIDEO_BASE_URL"));
    }

    #[test]
    fn optional_variables_override_defaults() {
        let c = load(&env(&[
            ("HEYGEN_API_BASE_URL", "http://127.0.0.1:9000/"),
            ("HEYGEN_CALLBACK_URL", "https://api.example/webhooks/heygen"),
            ("HEYGEN_CLAIM_STALE_SECONDS", "30"),
            ("HEYGEN_RECONCILE_AFTER_SECONDS", "0"),
            ("HEYGEN_LOST_AFTER_SECONDS", "120"),
            ("ADMIN_GROUP", "ops"),
            ("ADMIN_GROUPS_CLAIM", "groups"),
        ]))
        .unwrap();
        assert_eq!(c.heygen_api_base_url, "http://127.0.0.1:9000");
        assert_eq!(c.heygen_callback_url.as_deref(), Some("https://api.example/webhooks/heygen"));
        assert_eq!(c.claim_stale_after, Duration::from_secs(30));
        assert_eq!(c.reconcile_after, Duration::ZERO);
        assert_eq!(c.lost_after, Duration::from_secs(120));
        assert_eq!((c.admin_group.as_str(), c.admin_groups_claim.as_str()), ("ops", "groups"));
    }

    #[test]
    fn each_missing_required_variable_is_named() {
        for (name, _) in REQUIRED {
            let mut e = env(&[]);
            e.remove(name);
            assert_eq!(load(&e), Err(ConfigError::Missing(name)));
            e.insert(name.to_string(), "  ".into());
            assert_eq!(load(&e), Err(ConfigError::Missing(name)), "blank {name}");
            assert!(ConfigError::Missing(name).to_string().contains(name));
        }
    }

    #[test]
    fn invalid_values_fail_naming_the_variable() {
        for v in ["abc", "0", "-5", "1.5"] {
            let err = load(&env(&[("HEYGEN_CLAIM_STALE_SECONDS", v)])).unwrap_err();
            assert!(err.to_string().contains("HEYGEN_CLAIM_STALE_SECONDS"), "{v}: {err}");
        }
        let err = load(&env(&[("HEYGEN_LOST_AFTER_SECONDS", "an hour")])).unwrap_err();
        assert!(err.to_string().contains("HEYGEN_LOST_AFTER_SECONDS"));
        let err = load(&env(&[("HEYGEN_API_BASE_URL", "api.heygen.com")])).unwrap_err();
        assert!(err.to_string().contains("HEYGEN_API_BASE_URL"));
    }
}
