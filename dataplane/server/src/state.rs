//! Node state the control thread publishes to the cores, and each core's own copy of it.
//!
//! The control thread sends a fresh `Arc<NodeState>` to every core over that core's
//! channel whenever something changes; a core swaps it into its [`CoreState`] and reads it
//! there without locks. Only the newest value matters, so a core drains its channel and
//! keeps the last one.

use std::cell::{Cell, RefCell};
use std::sync::Arc;

use tessera_meta_types::{NodeId, Snapshot};

/// Facts about this node fixed at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeFacts {
    /// Advertised cluster (8088) address.
    pub tcp_addr: String,
    /// Advertised HTTP (8086) address.
    pub http_addr: String,
    pub cores: u32,
    pub version: &'static str,
}

/// What the control thread knows about the cluster.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeState {
    /// `None` until the node joins a cluster.
    pub node_id: Option<NodeId>,
    /// HTTP addresses of the meta nodes this node talks to.
    pub meta_servers: Vec<String>,
    /// The newest metadata snapshot.
    pub snapshot: Option<Arc<Snapshot>>,
    /// Whether this node holds the `continuous_querier` lease.
    pub cq_lease_held: bool,
}

impl NodeState {
    /// Metadata index of the newest snapshot, 0 before the first.
    pub fn meta_index(&self) -> u64 {
        self.snapshot.as_ref().map_or(0, |s| s.index)
    }
}

/// A message from the control thread to one core.
#[derive(Debug, Clone)]
pub enum CoreEvent {
    State(Arc<NodeState>),
    /// Stop accepting connections and end the executor.
    Shutdown,
}

/// The control thread's side: one channel per core.
#[derive(Debug, Clone)]
pub struct Publisher {
    senders: Vec<flume::Sender<CoreEvent>>,
}

/// Creates the channels: the publisher and each core's receiver, in core order.
pub fn channels(cores: usize) -> (Publisher, Vec<flume::Receiver<CoreEvent>>) {
    // Unbounded so a slow core never stalls the control thread; the core drains to the
    // newest state, so the queue stays short unless a core is stuck.
    let (senders, receivers) = (0..cores).map(|_| flume::unbounded()).unzip();
    (Publisher { senders }, receivers)
}

impl Publisher {
    pub fn publish(&self, state: &Arc<NodeState>) {
        for tx in &self.senders {
            // A core that has exited no longer needs state.
            let _ = tx.send(CoreEvent::State(Arc::clone(state)));
        }
    }

    pub fn shutdown(&self) {
        for tx in &self.senders {
            let _ = tx.send(CoreEvent::Shutdown);
        }
    }
}

/// One core's view: its index, the node facts and its copy of the newest state.
#[derive(Debug)]
pub struct CoreState {
    pub core: usize,
    pub facts: Arc<NodeFacts>,
    current: RefCell<Arc<NodeState>>,
    /// Requests this core has answered, for request ids.
    requests: Cell<u64>,
}

impl CoreState {
    pub fn new(core: usize, facts: Arc<NodeFacts>) -> CoreState {
        CoreState {
            core,
            facts,
            current: RefCell::new(Arc::new(NodeState::default())),
            requests: Cell::new(0),
        }
    }

    /// The newest state this core has received.
    pub fn state(&self) -> Arc<NodeState> {
        Arc::clone(&self.current.borrow())
    }

    pub fn set_state(&self, state: Arc<NodeState>) {
        *self.current.borrow_mut() = state;
    }

    /// A fresh per-core sequence number.
    pub fn next_request(&self) -> u64 {
        let n = self.requests.get().wrapping_add(1);
        self.requests.set(n);
        n
    }
}

/// Applies every pending event; returns false once the core should shut down.
pub fn apply_pending(core: &CoreState, first: CoreEvent, rx: &flume::Receiver<CoreEvent>) -> bool {
    let mut newest = None;
    let mut event = Some(first);
    while let Some(ev) = event.take() {
        match ev {
            CoreEvent::State(s) => newest = Some(s),
            CoreEvent::Shutdown => return false,
        }
        event = rx.try_recv().ok();
    }
    if let Some(s) = newest {
        core.set_state(s);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cores_keep_the_newest_state() {
        let (publisher, receivers) = channels(2);
        let facts = Arc::new(NodeFacts {
            tcp_addr: "h:8088".into(),
            http_addr: "h:8086".into(),
            cores: 2,
            version: "v",
        });
        let core = CoreState::new(1, facts);
        for id in 1..=3 {
            publisher.publish(&Arc::new(NodeState {
                node_id: Some(id),
                ..NodeState::default()
            }));
        }
        let rx = &receivers[1];
        let first = rx.try_recv().unwrap();
        assert!(apply_pending(&core, first, rx));
        assert_eq!(core.state().node_id, Some(3));
        assert_eq!(core.state().meta_index(), 0);
        publisher.shutdown();
        let first = rx.try_recv().unwrap();
        assert!(!apply_pending(&core, first, rx));
        assert_eq!(core.next_request(), 1);
        assert_eq!(core.next_request(), 2);
    }
}
