//! Whether this node holds a lease, from the answers to its lease requests.
//!
//! A granted lease is held until its expiration. A 409 means another node holds it. When
//! the meta plane cannot be asked, the node keeps a lease it was granted only until that
//! lease expires, so two nodes never both believe they hold it past an expiry.

use std::time::SystemTime;

/// The continuous-query lease: one node in the cluster runs continuous queries.
pub const CONTINUOUS_QUERIER: &str = "continuous_querier";

/// The answer to one lease request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseOutcome {
    /// Granted or renewed, until `expires`.
    Granted { expires: SystemTime },
    /// Another node holds it (409).
    HeldByOther { message: String },
    /// The meta plane could not be asked.
    Failed { error: String },
}

/// A change worth logging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseChange {
    Gained,
    Lost { reason: String },
}

#[derive(Debug, Clone, Default)]
pub struct LeaseTracker {
    held_until: Option<SystemTime>,
    held: bool,
}

impl LeaseTracker {
    pub fn held(&self) -> bool {
        self.held
    }

    /// Records an answer; returns the change, if any.
    pub fn observe(&mut self, outcome: LeaseOutcome, now: SystemTime) -> Option<LeaseChange> {
        let (held, reason) = match outcome {
            LeaseOutcome::Granted { expires } => {
                self.held_until = Some(expires);
                (
                    expires > now,
                    "the granted lease had already expired".to_string(),
                )
            }
            LeaseOutcome::HeldByOther { message } => {
                self.held_until = None;
                (false, message)
            }
            LeaseOutcome::Failed { error } => (
                self.held_until.is_some_and(|until| until > now),
                format!("it expired while the meta plane was unreachable: {error}"),
            ),
        };
        self.transition(held, reason)
    }

    /// Forgets the lease (the node left its cluster).
    pub fn reset(&mut self) -> Option<LeaseChange> {
        self.held_until = None;
        self.transition(
            false,
            "the node is no longer a member of the cluster".into(),
        )
    }

    fn transition(&mut self, held: bool, reason: String) -> Option<LeaseChange> {
        let change = match (self.held, held) {
            (false, true) => Some(LeaseChange::Gained),
            (true, false) => Some(LeaseChange::Lost { reason }),
            _ => None,
        };
        self.held = held;
        change
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn gained_renewed_lost() {
        let now = SystemTime::now();
        let later = now + Duration::from_secs(60);
        let mut t = LeaseTracker::default();
        assert!(!t.held());
        assert_eq!(
            t.observe(LeaseOutcome::Granted { expires: later }, now),
            Some(LeaseChange::Gained)
        );
        assert_eq!(
            t.observe(LeaseOutcome::Granted { expires: later }, now),
            None
        );
        // Unreachable meta: still held until expiry, then lost.
        let failed = || LeaseOutcome::Failed {
            error: "down".into(),
        };
        assert_eq!(t.observe(failed(), now + Duration::from_secs(30)), None);
        assert!(t.held());
        assert!(matches!(
            t.observe(failed(), now + Duration::from_secs(61)),
            Some(LeaseChange::Lost { .. })
        ));
        // Another node holds it.
        t.observe(LeaseOutcome::Granted { expires: later }, now);
        let other = LeaseOutcome::HeldByOther {
            message: "held by 2".into(),
        };
        assert_eq!(
            t.observe(other.clone(), now),
            Some(LeaseChange::Lost {
                reason: "held by 2".into()
            })
        );
        assert_eq!(t.observe(other, now), None);
        assert_eq!(t.observe(failed(), now), None);
        assert!(!t.held());
        t.observe(LeaseOutcome::Granted { expires: later }, now);
        assert!(matches!(t.reset(), Some(LeaseChange::Lost { .. })));
    }
}
