//! Creators as the platform writes them, and which of them HeyGen renders.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Mode;

/// A creator as the platform writes it (contract section 3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Creator {
    pub creator_id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub is_ai: bool,
    #[serde(default)]
    pub active: bool,
    #[serde(default)]
    pub heygen_avatar_ids: BTreeMap<String, String>,
    #[serde(default)]
    pub heygen_voice_ids: BTreeMap<String, String>,
}

fn non_empty(s: Option<&String>) -> Option<&str> {
    s.map(String::as_str).filter(|s| !s.is_empty())
}

impl Creator {
    /// The creator's HeyGen avatar for `mode`, if a non-empty one is set.
    pub fn avatar_for(&self, mode: Mode) -> Option<&str> {
        non_empty(self.heygen_avatar_ids.get(mode.as_str()))
    }

    /// The creator's own voice for `mode`, if a non-empty one is set.
    pub fn voice_for(&self, mode: Mode) -> Option<&str> {
        non_empty(self.heygen_voice_ids.get(mode.as_str()))
    }

    /// Eligible for `mode` iff AI, active, and with a non-empty avatar for it.
    pub fn is_eligible_for(&self, mode: Mode) -> bool {
        self.is_ai && self.active && self.avatar_for(mode).is_some()
    }

    /// The voice for a render: the creator's for the mode, else the default
    /// setting, else none (HeyGen then uses the avatar's own voice).
    pub fn choose_voice<'a>(&'a self, mode: Mode, default_voice: Option<&'a str>) -> Option<&'a str> {
        self.voice_for(mode).or(default_voice.filter(|v| !v.is_empty()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creator(is_ai: bool, active: bool, avatars: &[(&str, &str)], voices: &[(&str, &str)]) -> Creator {
        let map = |kv: &[(&str, &str)]| kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Creator {
            creator_id: "cr-1".into(),
            name: Some("Ada".into()),
            is_ai,
            active,
            heygen_avatar_ids: map(avatars),
            heygen_voice_ids: map(voices),
        }
    }

    #[test]
    fn creator_eligible_only_when_ai_active_and_avatar_for_mode() {
        assert!(creator(true, true, &[("bible", "av-1")], &[]).is_eligible_for(Mode::Bible));
        assert!(!creator(true, true, &[("bible", "av-1")], &[]).is_eligible_for(Mode::Positivity));
        assert!(!creator(false, true, &[("bible", "av-1")], &[]).is_eligible_for(Mode::Bible));
        assert!(!creator(true, false, &[("bible", "av-1")], &[]).is_eligible_for(Mode::Bible));
        assert!(!creator(true, true, &[("bible", "")], &[]).is_eligible_for(Mode::Bible));
        assert!(!creator(true, true, &[], &[]).is_eligible_for(Mode::Bible));
    }

    #[test]
    fn voice_is_creators_then_default_then_none() {
        let with_voice = creator(true, true, &[("bible", "a")], &[("bible", "v-own"), ("positivity", "")]);
        assert_eq!(with_voice.choose_voice(Mode::Bible, Some("v-def")), Some("v-own"));
        // An empty voice for the mode falls back to the default.
        assert_eq!(with_voice.choose_voice(Mode::Positivity, Some("v-def")), Some("v-def"));
        assert_eq!(with_voice.choose_voice(Mode::Positivity, None), None);
        assert_eq!(with_voice.choose_voice(Mode::Positivity, Some("")), None);
    }
}
