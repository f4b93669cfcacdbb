//! openraft's storage conformance suite against the log store and state machine.

use openraft::testing::{StoreBuilder, Suite};

use crate::log_store::LogStore;
use crate::raft_types::{StorageError, TypeConfig};
use crate::state_machine::StateMachineStore;

struct Builder;

impl StoreBuilder<TypeConfig, LogStore, StateMachineStore, tempfile::TempDir> for Builder {
    async fn build(
        &self,
    ) -> Result<(tempfile::TempDir, LogStore, StateMachineStore), StorageError> {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = LogStore::open(&dir.path().join("raft")).expect("log opens");
        let sm = StateMachineStore::open(&dir.path().join("sm")).expect("state machine opens");
        Ok((dir, log, sm))
    }
}

#[test]
fn openraft_storage_suite() {
    Suite::test_all(Builder).expect("openraft storage suite passes");
}
