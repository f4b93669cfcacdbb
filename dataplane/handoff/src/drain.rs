//! Helpers for the task that drains a queue to its destination node: one drain step,
//! the retry backoff and the retry rate limit.

use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

use crate::config::{DEFAULT_RETRY_INTERVAL, DEFAULT_RETRY_MAX_INTERVAL};
use crate::error::HandoffError;
use crate::queue::{Entry, HandoffQueue};

/// Why the destination did not take a batch (unreachable, timed out, refused). The queue
/// is fine; the drainer backs off and tries the same batch again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct SendError {
    pub reason: String,
}

impl SendError {
    pub fn new(reason: impl fmt::Display) -> SendError {
        SendError {
            reason: reason.to_string(),
        }
    }
}

/// What one [`drain_once`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DrainOutcome {
    /// Nothing was pending.
    Empty,
    /// A batch was sent and acknowledged.
    Sent { entries: usize, bytes: u64 },
    /// The sender failed; nothing was acknowledged.
    Failed(SendError),
}

/// Peeks up to `max_bytes` (at least one entry), hands the batch, oldest first, to `send`,
/// and acknowledges it when `send` succeeds. When `send` fails nothing is acknowledged, so
/// the next call sends the same entries again (delivery is at least once). `Err` is for
/// the queue's own failures (disk), not the destination's.
pub async fn drain_once<F, Fut>(
    queue: &HandoffQueue,
    max_bytes: usize,
    mut send: F,
) -> Result<DrainOutcome, HandoffError>
where
    F: FnMut(Vec<Entry>) -> Fut,
    Fut: Future<Output = Result<(), SendError>>,
{
    let batch = queue.peek(max_bytes).await?;
    let Some(last) = batch.last().map(|e| e.position) else {
        return Ok(DrainOutcome::Empty);
    };
    let entries = batch.len();
    let bytes = batch.iter().map(|e| e.payload.len() as u64).sum();
    match send(batch).await {
        Ok(()) => {
            queue.advance(last).await?;
            Ok(DrainOutcome::Sent { entries, bytes })
        }
        Err(e) => {
            tracing::debug!(dir = %queue.dir().display(), error = %e, "hinted handoff send failed");
            Ok(DrainOutcome::Failed(e))
        }
    }
}

/// The wait between retries: `retry-interval`, doubled after each failure up to
/// `retry-max-interval`, back to `retry-interval` after a success.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new(DEFAULT_RETRY_INTERVAL, DEFAULT_RETRY_MAX_INTERVAL)
    }
}

impl Backoff {
    /// A `max` below `initial` is raised to it.
    pub fn new(initial: Duration, max: Duration) -> Backoff {
        Backoff {
            initial,
            max: max.max(initial),
            next: initial,
        }
    }

    /// The wait before the next retry; doubles the one after.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = delay.checked_mul(2).unwrap_or(self.max).min(self.max);
        delay
    }

    /// What [`Self::next_delay`] would return, without moving on.
    pub fn current(&self) -> Duration {
        self.next
    }

    /// After a success.
    pub fn reset(&mut self) {
        self.next = self.initial;
    }
}

/// `retry-rate-limit`: spaces sends so that, on average, no more than `bytes_per_sec`
/// bytes go out (0 is unlimited). A batch is never split: a large one goes at once and the
/// ones after it wait longer.
#[derive(Debug, Clone)]
pub struct RateLimit {
    bytes_per_sec: u64,
    next_free: Option<Instant>,
}

impl RateLimit {
    pub fn new(bytes_per_sec: u64) -> RateLimit {
        RateLimit {
            bytes_per_sec,
            next_free: None,
        }
    }

    /// How long to wait, at `now`, before sending `bytes`; counts them as sent then.
    pub fn delay_for(&mut self, bytes: u64, now: Instant) -> Duration {
        if self.bytes_per_sec == 0 {
            return Duration::ZERO;
        }
        let start = self.next_free.map_or(now, |t| t.max(now));
        let cost = Duration::from_secs_f64(bytes as f64 / self.bytes_per_sec as f64);
        self.next_free = Some(start + cost);
        start - now
    }

    /// Sleeps (on the glommio timer) until `bytes` may be sent.
    pub async fn acquire(&mut self, bytes: u64) {
        let delay = self.delay_for(bytes, Instant::now());
        if !delay.is_zero() {
            glommio::timer::sleep(delay).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap_and_resets() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(200));
        let delays: Vec<u64> = (0..10).map(|_| b.next_delay().as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 64, 128, 200, 200]);
        b.reset();
        assert_eq!(b.next_delay(), Duration::from_secs(1));
        assert_eq!(b.current(), Duration::from_secs(2));
        let mut d = Backoff::default();
        assert_eq!(d.next_delay(), DEFAULT_RETRY_INTERVAL);
        // A cap below the start is raised to it; huge values saturate.
        let mut odd = Backoff::new(Duration::from_secs(5), Duration::from_secs(1));
        assert_eq!(
            (odd.next_delay(), odd.next_delay()),
            (Duration::from_secs(5), Duration::from_secs(5))
        );
        let mut big = Backoff::new(Duration::MAX / 2 + Duration::from_secs(1), Duration::MAX);
        big.next_delay();
        assert_eq!(big.next_delay(), Duration::MAX);
    }

    #[test]
    fn rate_limit_spaces_sends() {
        let now = Instant::now();
        let mut unlimited = RateLimit::new(0);
        assert_eq!(unlimited.delay_for(u64::MAX, now), Duration::ZERO);
        let mut r = RateLimit::new(1000);
        assert_eq!(r.delay_for(500, now), Duration::ZERO);
        assert_eq!(r.delay_for(500, now), Duration::from_millis(500));
        assert_eq!(r.delay_for(1, now + Duration::from_secs(5)), Duration::ZERO);
    }
}
