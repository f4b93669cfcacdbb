//! Queue settings with Enterprise's `[hinted-handoff]` defaults, and the clock entries are
//! stamped with.

use std::fmt;
use std::rc::Rc;
use std::time::{Duration, SystemTime};

use crate::error::HandoffError;

/// `[hinted-handoff] dir`.
pub const DEFAULT_DIR: &str = "/var/lib/influxdb/hh";
/// `[hinted-handoff] max-size`: 10 GiB per destination queue.
pub const DEFAULT_MAX_SIZE: u64 = 10 << 30;
/// `[hinted-handoff] max-age`: 168h.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(168 * 3600);
/// Segment file size; Enterprise's queue also rolls 10 MiB segments.
pub const DEFAULT_SEGMENT_SIZE: u64 = 10 << 20;
/// `[hinted-handoff] retry-concurrency`.
pub const DEFAULT_RETRY_CONCURRENCY: usize = 20;
/// `[hinted-handoff] retry-rate-limit`: 0 is unlimited (bytes/s).
pub const DEFAULT_RETRY_RATE_LIMIT: u64 = 0;
/// `[hinted-handoff] retry-interval`.
pub const DEFAULT_RETRY_INTERVAL: Duration = Duration::from_secs(1);
/// `[hinted-handoff] retry-max-interval`.
pub const DEFAULT_RETRY_MAX_INTERVAL: Duration = Duration::from_secs(200);
/// `[hinted-handoff] purge-interval`.
pub const DEFAULT_PURGE_INTERVAL: Duration = Duration::from_secs(60);

/// Where entries' `appended_at` comes from: the system clock, or a function (tests use a
/// settable one to age entries without sleeping).
#[derive(Clone, Default)]
pub struct Clock(Option<Rc<dyn Fn() -> SystemTime>>);

impl Clock {
    /// The wall clock.
    pub fn system() -> Clock {
        Clock(None)
    }

    /// A clock that reads `now`.
    pub fn from_fn(now: impl Fn() -> SystemTime + 'static) -> Clock {
        Clock(Some(Rc::new(now)))
    }

    pub fn now(&self) -> SystemTime {
        match &self.0 {
            Some(f) => f(),
            None => SystemTime::now(),
        }
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Clock(custom)"
        } else {
            "Clock(system)"
        })
    }
}

/// The settings of one destination's queue.
#[derive(Debug, Clone)]
pub struct QueueConfig {
    /// Most unacknowledged bytes (records with their 20-byte headers) the queue holds; an
    /// append past it fails with [`HandoffError::Full`].
    pub max_size: u64,
    /// Entries older than this are dropped by [`crate::HandoffQueue::purge_expired`].
    pub max_age: Duration,
    /// A segment file is closed once the next group would take it past this.
    pub segment_size: u64,
    pub clock: Clock,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            max_size: DEFAULT_MAX_SIZE,
            max_age: DEFAULT_MAX_AGE,
            segment_size: DEFAULT_SEGMENT_SIZE,
            clock: Clock::system(),
        }
    }
}

impl QueueConfig {
    pub fn validate(&self) -> Result<(), HandoffError> {
        if self.max_size == 0 {
            return Err(HandoffError::Config("max-size must be positive".into()));
        }
        if self.segment_size == 0 {
            return Err(HandoffError::Config("segment size must be positive".into()));
        }
        Ok(())
    }
}
