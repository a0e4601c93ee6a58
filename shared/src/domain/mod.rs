//! The domain: modes, months, creators, content items and their job states,
//! eligibility and processing order, timestamps and the settings' rules.
//!
//! Pure rules and values: no I/O, no AWS or HTTP type, nothing async. Every other
//! layer may use it; it uses none of them.

mod budget;
mod calendar;
mod content;
mod creator;
mod job;
mod progress;
mod script;
mod settings;
mod slots;
mod timestamp;

pub use budget::{
    BLOCKED_BY_BUDGET, BudgetKey, BudgetRow, BudgetView, Cap, DEFAULT_SECONDS_PER_WORD, Rates, Reservation,
    billed_seconds, estimate_seconds, learned_rate, usd, word_count,
};
pub use calendar::{ItemMode, Mode, ModeError, Month, MonthError};
pub use content::{Classification, ContentItem, JobStatus, processing_order};
pub use creator::Creator;
pub use job::{Backoff, Claim, Definiteness, Outcome, lost_video_text, request_error_text, retry_backoff};
pub use progress::{
    COPY_TIME, DEFAULT_RENDER_TIME, EstimateBasis, ItemState, VideoSeconds, seconds_left, typical_render_time,
};
pub use script::{MAX_SCRIPT_CHARS, ScriptProblem, check_script};
pub use settings::{MAX_RENDER_SLOTS, Settings};
pub use slots::{HolderState, RenderSlot, SLOT_LEAK_AFTER, SlotHolder, slot_key};
pub use timestamp::{Timestamp, TimestampError};

/// The settings table's known keys (contract section 3).
pub mod setting_keys {
    pub use super::settings::{
        BUDGET_SECONDS, CALLBACK_URL, DEFAULT_VOICE_ID, KNOWN_KEYS, MAX_CONCURRENT_RENDERS, MAX_RENDER_ATTEMPTS,
        REQUESTS_PER_SECOND, SECONDS_PER_WORD, USD_PER_SECOND,
    };
}
