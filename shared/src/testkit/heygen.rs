//! A scripted HeyGen: answers each create as planned for its item, and remembers
//! the first answer it really gave under each idempotency key, replaying it for
//! a repeated key as HeyGen does for 24 hours.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;

use tokio::time::Instant;

use super::lock;
use crate::domain::ScriptProblem;
use crate::heygen::{
    Account, CreateVideo, CreatedVideo, Heygen, HeygenError, MAX_STATES_PER_CALL, RenderState, VideoState, VideoStatus,
    idempotency_key,
};
use crate::secret::SecretString;

/// How HeyGen answers one create, after the client's retries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FakeAnswer {
    /// A new video (or, for a repeated key, the first answer again).
    Accept,
    /// 400 `invalid_parameter`: this item refused.
    Rejected,
    /// 401.
    Unauthorized,
    /// 402.
    InsufficientCredit,
    /// 429 after every retry; nothing was created.
    RateLimited,
    /// 5xx after every retry; nothing was created.
    Server,
    /// 5xx after every retry, but HeyGen had created the video: a repeat of the
    /// key gets it.
    ServerAfterCreating,
    /// No answer in time; nothing was created.
    Timeout,
}

#[derive(Clone, Debug)]
enum Given {
    Video(String),
    Refused(FakeAnswer),
}

#[derive(Default)]
struct State {
    plans: HashMap<String, VecDeque<FakeAnswer>>,
    given: HashMap<String, Given>,
    creates: Vec<(String, String)>,
    videos: Vec<(String, String)>,
    statuses: HashMap<String, VideoStatus>,
    /// Status reads of each video so far.
    polls: HashMap<String, u32>,
    /// Jobs rendering now (made, not yet reported finished nor forgotten), and
    /// the most ever at once.
    rendering: HashSet<String>,
    peak: usize,
    /// Videos HeyGen no longer knows: `not_found` / 404 about them.
    forgotten: HashSet<String>,
    /// Items whose next render HeyGen will report failed.
    failing_renders: HashSet<String>,
    /// Calls received: `GET /v3/videos/{id}` and `GET /v3/videos/statuses`.
    status_calls: usize,
    states_calls: usize,
    /// Whether the bulk endpoint answers 404, as a HeyGen without it would.
    no_states_endpoint: bool,
    /// What `GET /v3/users/me` answers (`None`: no answer), and how often it was asked.
    account: Option<Account>,
    account_calls: usize,
}

/// HeyGen's `duration` of every video the fake finishes: 30.5 s.
pub const FAKE_VIDEO_SECONDS: crate::domain::VideoSeconds = crate::domain::VideoSeconds::from_millis(30_500);

/// The fake. Without a plan for an item, every create is accepted; a video
/// renders until its status has been read `renders_for_polls` times (never, if
/// unset), then is completed.
#[derive(Default)]
pub struct FakeHeygen {
    state: Mutex<State>,
    renders_for_polls: Option<u32>,
    /// How long a create takes to answer.
    create_delay: std::time::Duration,
    /// Where completed videos' links point (`{files}/{video_id}.mp4`).
    files: Option<String>,
}

fn error_for(answer: FakeAnswer) -> HeygenError {
    match answer {
        FakeAnswer::Accept => unreachable!("an accepted create is not an error"),
        FakeAnswer::Rejected => HeygenError::Rejected {
            status: 400,
            code: "invalid_parameter".into(),
            message: "the fake refused this item".into(),
        },
        FakeAnswer::Unauthorized => HeygenError::Unauthorized { message: "invalid api key".into() },
        FakeAnswer::InsufficientCredit => HeygenError::InsufficientCredit { message: "no credit".into() },
        FakeAnswer::RateLimited => HeygenError::RateLimited { retry_after: None },
        FakeAnswer::Server | FakeAnswer::ServerAfterCreating => HeygenError::Server { status: 503 },
        FakeAnswer::Timeout => HeygenError::Timeout,
    }
}

impl FakeHeygen {
    pub fn new() -> Self {
        Self::default()
    }

    /// Videos complete once their status has been read `polls` times.
    pub fn rendering_for(polls: u32) -> Self {
        Self { renders_for_polls: Some(polls), ..Self::default() }
    }

    /// Creates take `delay` to answer (the video is made at the start).
    pub fn with_create_delay(mut self, delay: std::time::Duration) -> Self {
        self.create_delay = delay;
        self
    }

    /// Completed videos' links point under `base` (a file server of the test's).
    pub fn with_files_at(mut self, base: &str) -> Self {
        self.files = Some(base.trim_end_matches('/').to_string());
        self
    }

    /// HeyGen reports the next render made for `content_id` failed.
    pub fn fail_next_render(&self, content_id: &str) {
        lock(&self.state).failing_renders.insert(content_id.to_string());
    }

    /// The most jobs HeyGen was ever rendering at once.
    pub fn peak_rendering(&self) -> usize {
        lock(&self.state).peak
    }

    /// The answers to the next creates of `content_id`, in order; then `Accept`.
    pub fn plan(&self, content_id: &str, answers: impl IntoIterator<Item = FakeAnswer>) {
        lock(&self.state).plans.entry(content_id.to_string()).or_default().extend(answers);
    }

    /// Every create received: `(content_id, idempotency key)`, in order.
    pub fn creates(&self) -> Vec<(String, String)> {
        lock(&self.state).creates.clone()
    }

    /// Every video HeyGen made (and would bill): `(content_id, video_id)`.
    pub fn videos(&self) -> Vec<(String, String)> {
        lock(&self.state).videos.clone()
    }

    /// Calls received so far: `(GET /v3/videos/{id}, GET /v3/videos/statuses)`.
    pub fn status_calls(&self) -> (usize, usize) {
        let state = lock(&self.state);
        (state.status_calls, state.states_calls)
    }

    /// From now on `GET /v3/videos/statuses` answers 404, as from a HeyGen
    /// without the endpoint.
    pub fn without_states_endpoint(&self) {
        lock(&self.state).no_states_endpoint = true;
    }

    /// What the status call answers for `video_id` from now on. A final state
    /// ends the job's rendering.
    pub fn set_status(&self, status: VideoStatus) {
        let mut state = lock(&self.state);
        if matches!(status.state, RenderState::Completed | RenderState::Failed) {
            state.rendering.remove(&status.video_id);
        }
        state.statuses.insert(status.video_id.clone(), status);
    }

    /// From now on HeyGen does not know `video_id` (404, `not_found`), as for a
    /// render it lost.
    pub fn forget(&self, video_id: &str) {
        let mut state = lock(&self.state);
        state.rendering.remove(video_id);
        state.forgotten.insert(video_id.to_string());
    }
}

impl Heygen for FakeHeygen {
    fn create_attempt_time(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }

    async fn create_video(
        &self,
        _api_key: &SecretString,
        video: &CreateVideo,
        deadline: Instant,
    ) -> Result<CreatedVideo, HeygenError> {
        if video.script.trim().is_empty() {
            return Err(ScriptProblem::Missing.into());
        }
        if Instant::now() >= deadline {
            return Err(HeygenError::Deadline);
        }
        let key = idempotency_key(&video.content_id, video.attempt);
        let answered = self.answer_create(video, key);
        if !self.create_delay.is_zero() {
            tokio::time::sleep(self.create_delay).await;
        }
        answered
    }

    async fn video_status(
        &self,
        _api_key: &SecretString,
        video_id: &str,
        deadline: Instant,
    ) -> Result<VideoStatus, HeygenError> {
        if Instant::now() >= deadline {
            return Err(HeygenError::Deadline);
        }
        let mut state = lock(&self.state);
        state.status_calls += 1;
        self.read_status(&mut state, video_id)
    }

    /// Each id read as a status call reads it (a poll counted), answered
    /// without URLs; ids the fake does not know are `not_found`.
    async fn video_states(
        &self,
        _api_key: &SecretString,
        video_ids: &[&str],
        deadline: Instant,
    ) -> Result<Vec<VideoState>, HeygenError> {
        assert!(video_ids.len() <= MAX_STATES_PER_CALL, "{} ids in one call", video_ids.len());
        if Instant::now() >= deadline {
            return Err(HeygenError::Deadline);
        }
        let mut state = lock(&self.state);
        state.states_calls += 1;
        if state.no_states_endpoint {
            return Err(HeygenError::NotFound);
        }
        Ok(video_ids
            .iter()
            .map(|video_id| match self.read_status(&mut state, video_id) {
                Ok(status) => VideoState {
                    video_id: status.video_id,
                    state: Some(status.state),
                    failure_code: status.failure_code,
                    failure_message: status.failure_message,
                },
                Err(_) => VideoState {
                    video_id: (*video_id).to_string(),
                    state: None,
                    failure_code: None,
                    failure_message: None,
                },
            })
            .collect())
    }

    async fn account(&self, _api_key: &SecretString, deadline: Instant) -> Result<Account, HeygenError> {
        if Instant::now() >= deadline {
            return Err(HeygenError::Deadline);
        }
        let mut state = lock(&self.state);
        state.account_calls += 1;
        state.account.clone().ok_or(HeygenError::Timeout)
    }
}

impl FakeHeygen {
    /// What `account` answers from now on (`None`: it fails as HeyGen down would).
    pub fn set_account(&self, account: Option<Account>) {
        lock(&self.state).account = account;
    }

    /// How many times the account was read.
    pub fn account_calls(&self) -> usize {
        lock(&self.state).account_calls
    }

    fn read_status(&self, state: &mut State, video_id: &str) -> Result<VideoStatus, HeygenError> {
        if state.forgotten.contains(video_id) {
            return Err(HeygenError::NotFound);
        }
        if let Some(status) = state.statuses.get(video_id) {
            return Ok(status.clone());
        }
        if !state.videos.iter().any(|(_, v)| v == video_id) {
            return Err(HeygenError::NotFound);
        }
        let polls = {
            let n = state.polls.entry(video_id.to_string()).or_insert(0);
            *n += 1;
            *n
        };
        let done = self.renders_for_polls.is_some_and(|needed| polls >= needed);
        if done {
            state.rendering.remove(video_id);
        }
        Ok(VideoStatus {
            video_id: video_id.to_string(),
            state: if done { RenderState::Completed } else { RenderState::Processing },
            video_url: done
                .then(|| format!("{}/{video_id}.mp4", self.files.as_deref().unwrap_or("https://files.fake"))),
            thumbnail_url: None,
            failure_code: None,
            failure_message: None,
            duration: done.then_some(FAKE_VIDEO_SECONDS),
        })
    }

    fn answer_create(&self, video: &CreateVideo, key: String) -> Result<CreatedVideo, HeygenError> {
        let mut state = lock(&self.state);
        state.creates.push((video.content_id.clone(), key.clone()));
        let answer = match state.given.get(&key) {
            Some(Given::Video(video_id)) => {
                return Ok(CreatedVideo { video_id: video_id.clone(), status: RenderState::Pending });
            }
            Some(Given::Refused(answer)) => return Err(error_for(*answer)),
            None => state.plans.get_mut(&video.content_id).and_then(VecDeque::pop_front).unwrap_or(FakeAnswer::Accept),
        };
        match answer {
            FakeAnswer::Accept | FakeAnswer::ServerAfterCreating => {
                let video_id = format!("fake-{}-{}", video.content_id, state.videos.len() + 1);
                state.given.insert(key, Given::Video(video_id.clone()));
                state.videos.push((video.content_id.clone(), video_id.clone()));
                state.rendering.insert(video_id.clone());
                state.peak = state.peak.max(state.rendering.len());
                if state.failing_renders.remove(&video.content_id) {
                    // Failed at once: its job is over.
                    state.rendering.remove(&video_id);
                    let failed = VideoStatus {
                        video_id: video_id.clone(),
                        state: RenderState::Failed,
                        video_url: None,
                        thumbnail_url: None,
                        failure_code: Some("render_failed".into()),
                        failure_message: Some("Avatar render failed".into()),
                        duration: None,
                    };
                    state.statuses.insert(video_id.clone(), failed);
                }
                if answer == FakeAnswer::ServerAfterCreating {
                    return Err(error_for(answer));
                }
                Ok(CreatedVideo { video_id, status: RenderState::Pending })
            }
            FakeAnswer::Rejected | FakeAnswer::Unauthorized | FakeAnswer::InsufficientCredit => {
                state.given.insert(key, Given::Refused(answer));
                Err(error_for(answer))
            }
            FakeAnswer::RateLimited | FakeAnswer::Server | FakeAnswer::Timeout => Err(error_for(answer)),
        }
    }
}
