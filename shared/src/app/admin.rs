//! The admin check (contract section 2), a rule of the application: who may call
//! the admin routes. The HTTP API's JWT authorizer verifies
//! the token; only the handler can require a group. Claims arrive as strings.

use std::collections::HashMap;

use crate::app::ApiError;

/// The admin who made a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Admin {
    pub sub: String,
}

/// The groups in a claim value, in the three forms API Gateway produces:
/// `["admin","x"]` (a JSON array written as a string), `[admin x]` (bracketed,
/// separated by white space), or `admin` (bare, one group). Names are taken
/// whole: never split on commas, never stripped of quotes.
pub fn groups(claim: &str) -> Vec<String> {
    let claim = claim.trim();
    if let Ok(list) = serde_json::from_str::<Vec<String>>(claim) {
        return list.into_iter().filter(|g| !g.is_empty()).collect();
    }
    match claim.strip_prefix('[').and_then(|c| c.strip_suffix(']')) {
        Some(inner) => inner.split_whitespace().map(str::to_string).collect(),
        None if claim.is_empty() => Vec::new(),
        None => vec![claim.to_string()],
    }
}

/// No claims: 401 `unauthorized`. Claims without the group (a whole group name):
/// 403 `forbidden`.
pub fn require_admin(
    claims: Option<&HashMap<String, String>>,
    groups_claim: &str,
    admin_group: &str,
) -> Result<Admin, ApiError> {
    let claims = claims.filter(|c| !c.is_empty()).ok_or(ApiError::Unauthorized)?;
    let sub = claims.get("sub").cloned().unwrap_or_default();
    let is_admin = claims.get(groups_claim).is_some_and(|value| groups(value).iter().any(|g| g == admin_group));
    if is_admin {
        Ok(Admin { sub })
    } else {
        tracing::warn!(sub = %sub, "a caller without the admin group was refused");
        Err(ApiError::Forbidden)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(kv: &[(&str, &str)]) -> HashMap<String, String> {
        kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn groups_are_read_in_every_form_api_gateway_produces() {
        assert_eq!(groups("[admin editors]"), ["admin", "editors"]);
        assert_eq!(groups(r#"["admin","editors"]"#), ["admin", "editors"]);
        assert_eq!(groups(r#"["admin", "editors"]"#), ["admin", "editors"]);
        assert_eq!(groups("admin"), ["admin"]);
        assert_eq!(groups("[admin]"), ["admin"]);
        assert_eq!(groups("[]"), Vec::<String>::new());
        assert_eq!(groups(""), Vec::<String>::new());
    }

    #[test]
    fn group_names_are_never_split_on_commas_or_stripped_of_quotes() {
        assert_eq!(groups("ops,admin"), ["ops,admin"]);
        assert_eq!(groups("[ops,admin]"), ["ops,admin"]);
        assert_eq!(groups(r#"["ops,admin"]"#), ["ops,admin"]);
        assert_eq!(groups(r#""admin""#), [r#""admin""#]);
        for value in ["ops,admin", "[ops,admin editors]", r#"["ops,admin"]"#, r#""admin""#, "[\"admin\"]x"] {
            let c = claims(&[("sub", "u-1"), ("cognito:groups", value)]);
            assert!(matches!(require_admin(Some(&c), "cognito:groups", "admin"), Err(ApiError::Forbidden)), "{value}");
        }
    }

    #[test]
    fn admins_pass_with_their_sub() {
        for value in ["[admin x]", r#"["x","admin"]"#, "admin"] {
            let c = claims(&[("sub", "u-1"), ("cognito:groups", value)]);
            assert_eq!(
                require_admin(Some(&c), "cognito:groups", "admin").unwrap(),
                Admin { sub: "u-1".into() },
                "{value}"
            );
        }
    }

    #[test]
    fn whole_group_names_only() {
        for value in ["administrators", "[administrators x]", r#"["admins"]"#, "[xadmin]", "Admin"] {
            let c = claims(&[("sub", "u-1"), ("cognito:groups", value)]);
            assert!(matches!(require_admin(Some(&c), "cognito:groups", "admin"), Err(ApiError::Forbidden)), "{value}");
        }
    }

    #[test]
    fn no_claims_is_401_and_claims_without_the_group_403() {
        assert!(matches!(require_admin(None, "cognito:groups", "admin"), Err(ApiError::Unauthorized)));
        assert!(matches!(require_admin(Some(&HashMap::new()), "cognito:groups", "admin"), Err(ApiError::Unauthorized)));
        let no_groups = claims(&[("sub", "u-1")]);
        assert!(matches!(require_admin(Some(&no_groups), "cognito:groups", "admin"), Err(ApiError::Forbidden)));
    }

    #[test]
    fn the_claim_name_and_group_are_configurable() {
        let c = claims(&[("sub", "u-1"), ("groups", "[ops]")]);
        assert!(require_admin(Some(&c), "groups", "ops").is_ok());
        assert!(matches!(require_admin(Some(&c), "cognito:groups", "ops"), Err(ApiError::Forbidden)));
    }
}
