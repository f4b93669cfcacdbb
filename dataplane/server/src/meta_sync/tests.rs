use tessera_meta_types::{ClusterState, DataNode, MetaNode};

use super::*;
use crate::state::{channels, CoreEvent};

fn control(dir: &std::path::Path) -> (ControlLoop, flume::Receiver<CoreEvent>) {
    let (publisher, mut receivers) = channels(1);
    let (events, _) = mpsc::unbounded_channel();
    let cfg = SyncConfig {
        meta_dir: dir.to_path_buf(),
        cq_enabled: true,
        run_interval: Duration::from_secs(1),
        housekeeping: crate::housekeeping::HousekeepingConfig {
            retention_enabled: false,
            retention_check: Duration::from_secs(1),
            precreation_enabled: false,
            precreation_check: Duration::from_secs(1),
            advance_period: Duration::from_secs(1),
        },
    };
    (
        ControlLoop::new(cfg, None, publisher, events),
        receivers.remove(0),
    )
}

fn last_state(rx: &flume::Receiver<CoreEvent>) -> Arc<NodeState> {
    let mut last = None;
    while let Ok(CoreEvent::State(s)) = rx.try_recv() {
        last = Some(s);
    }
    last.expect("a state was published")
}

// Unreachable meta servers: the background tasks only retry, which is fine here.
const META: &str = "127.0.0.1:1";

#[tokio::test]
async fn join_and_leave() {
    let dir = tempfile::tempdir().unwrap();
    let (mut c, rx) = control(dir.path());
    assert_eq!(c.join(3, vec![META.into()]), ControlResponse::Ok);
    let stored = node_identity::load(dir.path()).unwrap().unwrap();
    assert_eq!(stored.id, 3);
    assert_eq!(last_state(&rx).node_id, Some(3));
    // Same id again refreshes; another id is refused.
    assert_eq!(c.join(3, vec!["m2:8091".into()]), ControlResponse::Ok);
    assert_eq!(
        node_identity::load(dir.path())
            .unwrap()
            .unwrap()
            .meta_servers,
        vec!["m2:8091".to_string()]
    );
    assert_eq!(
        c.join(4, vec![META.into()]),
        ControlResponse::Error {
            message: "data node is already a member of a cluster as node 3".into()
        }
    );
    assert!(matches!(c.leave(9), ControlResponse::Error { .. }));
    assert_eq!(c.leave(3), ControlResponse::Ok);
    assert_eq!(node_identity::load(dir.path()).unwrap(), None);
    assert_eq!(last_state(&rx).node_id, None);
    assert!(c.tasks.is_empty());
    // Leaving twice is harmless; joining without meta servers is refused.
    assert_eq!(c.leave(3), ControlResponse::Ok);
    assert!(matches!(c.join(5, vec![]), ControlResponse::Error { .. }));
    c.stop();
}

fn snapshot(index: u64, data_nodes: &[u64], meta: &[&str]) -> Arc<Snapshot> {
    Arc::new(Snapshot {
        index,
        data: ClusterState {
            data_nodes: data_nodes
                .iter()
                .map(|&id| DataNode {
                    id,
                    tcp_addr: format!("d{id}:8088"),
                    http_addr: format!("d{id}:8086"),
                })
                .collect(),
            meta_nodes: meta
                .iter()
                .enumerate()
                .map(|(i, a)| MetaNode {
                    id: i as u64 + 1,
                    addr: String::new(),
                    http_addr: a.to_string(),
                })
                .collect(),
            ..Default::default()
        },
    })
}

#[tokio::test]
async fn snapshots_update_state_meta_servers_and_membership() {
    let dir = tempfile::tempdir().unwrap();
    let (mut c, rx) = control(dir.path());
    c.join(2, vec![META.into()]);
    // Only the poller runs until a snapshot lists this node.
    assert_eq!(c.tasks.len(), 1);
    let gen = c.generation;
    c.event(Event::Snapshot(gen, snapshot(7, &[2], &[META])));
    assert_eq!(last_state(&rx).meta_index(), 7);
    assert_eq!(c.tasks.len(), 2, "member: leases requested");
    // Meta membership changes are persisted.
    let gen = c.generation;
    c.event(Event::Snapshot(
        gen,
        snapshot(8, &[2], &[META, "127.0.0.1:2"]),
    ));
    assert_eq!(
        node_identity::load(dir.path())
            .unwrap()
            .unwrap()
            .meta_servers,
        vec![META.to_string(), "127.0.0.1:2".to_string()]
    );
    // A lease granted, then the node removed: the lease is dropped and not requested.
    let gen = c.generation;
    c.event(Event::Lease(
        gen,
        LeaseOutcome::Granted {
            expires: SystemTime::now() + Duration::from_secs(60),
        },
    ));
    assert!(last_state(&rx).cq_lease_held);
    c.event(Event::Snapshot(
        gen,
        snapshot(9, &[], &[META, "127.0.0.1:2"]),
    ));
    let s = last_state(&rx);
    assert!(!s.cq_lease_held);
    assert_eq!(s.meta_index(), 9);
    assert_eq!(c.tasks.len(), 1, "removed: no lease requests");
    // Events from an earlier generation are ignored.
    c.event(Event::Snapshot(gen, snapshot(10, &[2], &[META])));
    assert_eq!(c.state.meta_index(), 9);
    c.stop();
}
