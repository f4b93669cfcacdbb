//! The storage of one core: the partitions it owns and the field registries of the
//! shards it is home to, reached by other cores only through [`CoreMsg`] messages.
//!
//! Directory layout: `[data] dir/<db>/<rp>/<shard id>/p<NNN>/*.tsm` (plus the shard's
//! `fields.log` and `manifest`), and `[data] wal-dir/<db>/<rp>/<shard id>/p<NNN>/*.wal`.
//! At start every core scans the shard directories and opens the partitions that map to it
//! under the current core count.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use bytes::Bytes;
use tessera_storage::batch::FieldType;
use tessera_storage::partition::{Partition, PartitionConfig, PartitionError};

use crate::catalog::{Catalogs, CoreCatalog, PartCatalog};
use crate::fields::{FieldRequest, FieldsError, RegisterError, ShardFields};
use crate::router;

/// A shard's partition count and, per requested field, the type it holds (if any).
pub type Registered = (u32, Vec<Option<FieldType>>);

type FastMap<K, V> = HashMap<K, V, ahash::RandomState>;
/// Field types of one shard as a core knows them: measurement → field → type.
type KnownFields = FastMap<Box<[u8]>, FastMap<Box<[u8]>, FieldType>>;

/// A shard as its files are laid out.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ShardRef {
    pub database: Arc<str>,
    pub retention_policy: Arc<str>,
    pub id: u64,
}

impl ShardRef {
    fn rel(&self) -> PathBuf {
        Path::new(&*self.database)
            .join(&*self.retention_policy)
            .join(self.id.to_string())
    }
}

/// A request from one core to another.
pub enum CoreMsg {
    /// Append an encoded batch to a partition this core owns.
    Write {
        shard: ShardRef,
        partition: u32,
        batch: Bytes,
        reply: flume::Sender<Result<(), String>>,
    },
    /// Index series without data in a partition this core owns.
    IndexSeries {
        shard: ShardRef,
        partition: u32,
        keys: Vec<Vec<u8>>,
        reply: flume::Sender<Result<(), String>>,
    },
    /// Register fields in a shard this core is home to; answers the types the shard holds.
    RegisterFields {
        shard: ShardRef,
        fields: Vec<FieldRequest>,
        reply: flume::Sender<Result<Registered, RegisterError>>,
    },
    /// A query's work on this core's partitions of some shards.
    Scatter(crate::scatter::ScatterMsg),
    /// A shard's field registry on this node grew: queries must read it again. Answered
    /// once applied, so that the write that registered the fields is acknowledged only
    /// after every core would see them.
    FieldsChanged {
        /// A measurement (escaped) whose fields a shard forgot: dropped from what this
        /// core knows.
        forgot: Option<(u64, Box<[u8]>)>,
        reply: flume::Sender<()>,
    },
    /// Forget every field of a measurement (escaped) in a shard this core is home to.
    ForgetFields {
        shard: u64,
        measurement: Box<[u8]>,
        reply: flume::Sender<Result<(), FieldsError>>,
    },
    /// Queue a shard write for data node `node` in its hinted-handoff queue (this core
    /// owns it).
    Handoff {
        node: u64,
        payload: Vec<u8>,
        reply: flume::Sender<Result<(), String>>,
    },
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Partition(#[from] PartitionError),
    #[error(transparent)]
    Fields(#[from] FieldsError),
    #[error("partition {partition} of shard {shard} failed to open: {reason}")]
    Broken {
        shard: u64,
        partition: u32,
        reason: String,
    },
    #[error("core {0} is not running")]
    CoreGone(usize),
}

#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub data_dir: PathBuf,
    pub wal_dir: PathBuf,
    pub partitions_per_shard: u32,
    pub partition: PartitionConfig,
    /// `[data] cache-snapshot-write-cold-duration`.
    pub snapshot_cold: std::time::Duration,
    /// `[data] compact-full-write-cold-duration`.
    pub full_compaction_cold: std::time::Duration,
    /// `[data] file-cache-max-memory-size` for the node.
    pub file_cache_bytes: u64,
    /// `[data] scatter-linger`.
    pub scatter_linger: std::time::Duration,
}

enum Slot {
    Open(Rc<Partition>),
    Broken(String),
}

pub struct Engine {
    pub core: usize,
    pub cores: usize,
    pub cfg: EngineConfig,
    mesh: Vec<flume::Sender<CoreMsg>>,
    partitions: RefCell<HashMap<(u64, u32), Slot>>,
    shard_refs: RefCell<HashMap<u64, ShardRef>>,
    /// Registries of the shards this core is home to.
    registries: RefCell<HashMap<u64, ShardFields>>,
    /// What this core learned of every shard's field types: shard → measurement → field.
    known_fields: RefCell<HashMap<u64, KnownFields>>,
    /// Partitions per shard, from each shard's manifest.
    known_partitions: RefCell<HashMap<u64, u32>>,
    /// Serialises partition opening per key (one open at a time on this core).
    opening: RefCell<std::collections::HashSet<(u64, u32)>>,
    /// Every core's published index catalog (see [`crate::catalog`]).
    pub catalogs: Arc<Catalogs>,
    /// When this core last built its catalog, and what that cost.
    catalog_built: Cell<Option<(std::time::Instant, std::time::Duration)>>,
    catalog_building: Cell<bool>,
}

impl Engine {
    pub fn new(
        core: usize,
        cores: usize,
        cfg: EngineConfig,
        mesh: Vec<flume::Sender<CoreMsg>>,
        catalogs: Arc<Catalogs>,
    ) -> Rc<Engine> {
        Rc::new(Engine {
            core,
            cores,
            cfg,
            mesh,
            catalogs,
            catalog_built: Cell::new(None),
            catalog_building: Cell::new(false),
            partitions: RefCell::new(HashMap::new()),
            shard_refs: RefCell::new(HashMap::new()),
            registries: RefCell::new(HashMap::new()),
            known_fields: RefCell::new(HashMap::new()),
            known_partitions: RefCell::new(HashMap::new()),
            opening: RefCell::new(Default::default()),
        })
    }

    /// Opens every partition on disk that this core owns; broken ones are logged with
    /// their path and refuse reads and writes.
    pub async fn open_existing(self: &Rc<Self>) {
        for (shard, partition) in scan_partitions(&self.cfg.data_dir, &self.cfg.wal_dir) {
            if router::core_of(shard.id, partition, self.cores) != self.core {
                continue;
            }
            self.shard_refs.borrow_mut().insert(shard.id, shard.clone());
            if let Err(e) = self.partition(&shard, partition).await {
                tracing::error!(core = self.core, error = %e, "refusing to serve a partition");
            }
        }
        let open = self.partitions.borrow().len();
        if open > 0 {
            tracing::info!(core = self.core, partitions = open, "opened partitions");
        }
        if self.catalog_wanted() {
            self.catalog_building.set(true);
            self.build_catalog().await;
        }
    }

    /// Marks this core's catalog out of date: its indexes changed what they list (or a
    /// partition opened or went). Called before the request that did so is answered.
    pub fn catalog_changed(&self) {
        self.catalogs.bump(self.core);
    }

    /// Builds and publishes this core's catalog again if it is out of date, in a task of
    /// its own that yields between partitions. Not while a build runs, nor when the last
    /// one ended so recently that building now would take more than a twentieth of the
    /// core's time (under a stream of new series, queries then ask this core as without
    /// catalogs).
    pub fn refresh_catalog(self: &Rc<Self>) {
        if !self.catalog_wanted() {
            return;
        }
        self.catalog_building.set(true);
        let me = Rc::clone(self);
        glommio::spawn_local(async move { me.build_catalog().await }).detach();
    }

    fn catalog_wanted(&self) -> bool {
        let epoch = self.catalogs.epoch(self.core);
        if self.catalog_building.get() || self.catalogs.published_epoch(self.core) == Some(epoch) {
            return false;
        }
        self.catalog_built
            .get()
            .is_none_or(|(at, cost)| at.elapsed() >= cost * 20)
    }

    /// Builds this core's catalog from its open partitions and publishes it, stamped with
    /// the epoch read before the first partition: a change while it builds leaves it
    /// out of date at once.
    async fn build_catalog(&self) {
        let epoch = self.catalogs.epoch(self.core);
        let mut cost = std::time::Duration::ZERO;
        let mut parts = Vec::new();
        for (shard, _, p) in self.open_partitions() {
            let start = std::time::Instant::now();
            parts.push(PartCatalog::build(shard.id, &p.index()));
            cost += start.elapsed();
            glommio::yield_if_needed().await;
        }
        if cost >= std::time::Duration::from_millis(10) {
            tracing::info!(core = self.core, epoch, partitions = parts.len(), took = ?cost, "catalog published");
        } else {
            tracing::debug!(core = self.core, epoch, partitions = parts.len(), took = ?cost, "catalog published");
        }
        self.catalogs
            .publish(self.core, CoreCatalog::new(epoch, parts));
        self.catalog_built
            .set(Some((std::time::Instant::now(), cost)));
        self.catalog_building.set(false);
    }

    /// The partition, opened on first use.
    pub async fn partition(
        &self,
        shard: &ShardRef,
        partition: u32,
    ) -> Result<Rc<Partition>, EngineError> {
        let key = (shard.id, partition);
        loop {
            match self.partitions.borrow().get(&key) {
                Some(Slot::Open(p)) => return Ok(Rc::clone(p)),
                Some(Slot::Broken(reason)) => {
                    return Err(EngineError::Broken {
                        shard: shard.id,
                        partition,
                        reason: reason.clone(),
                    })
                }
                None => {}
            }
            if self.opening.borrow_mut().insert(key) {
                break;
            }
            glommio::timer::sleep(std::time::Duration::from_millis(1)).await;
        }
        let name = format!("p{partition:03}");
        let data = self.cfg.data_dir.join(shard.rel()).join(&name);
        let wal = self.cfg.wal_dir.join(shard.rel()).join(&name);
        let opened = Partition::open(&data, &wal, self.cfg.partition.clone()).await;
        self.opening.borrow_mut().remove(&key);
        self.shard_refs.borrow_mut().insert(shard.id, shard.clone());
        match opened {
            Ok(p) => {
                self.partitions
                    .borrow_mut()
                    .insert(key, Slot::Open(Rc::clone(&p)));
                self.catalog_changed();
                Ok(p)
            }
            Err(e) => {
                self.partitions
                    .borrow_mut()
                    .insert(key, Slot::Broken(e.to_string()));
                Err(e.into())
            }
        }
    }

    /// Sends a message to another core's mesh inbox.
    pub async fn send_to(&self, core: usize, msg: CoreMsg) -> Result<(), EngineError> {
        self.mesh[core]
            .send_async(msg)
            .await
            .map_err(|_| EngineError::CoreGone(core))
    }

    /// Every open partition of this core, with its shard.
    pub fn open_partitions(&self) -> Vec<(ShardRef, u32, Rc<Partition>)> {
        let refs = self.shard_refs.borrow();
        self.partitions
            .borrow()
            .iter()
            .filter_map(|((shard, p), slot)| match slot {
                Slot::Open(part) => Some((refs.get(shard)?.clone(), *p, Rc::clone(part))),
                Slot::Broken(_) => None,
            })
            .collect()
    }

    /// Writes a batch to `partition` of `shard`, here or on the owning core.
    pub async fn write(
        self: &Rc<Self>,
        shard: &ShardRef,
        partition: u32,
        batch: Bytes,
    ) -> Result<(), String> {
        let owner = router::core_of(shard.id, partition, self.cores);
        if owner == self.core {
            return self.write_local(shard, partition, &batch).await;
        }
        self.ask_core(owner, |reply| CoreMsg::Write {
            shard: shard.clone(),
            partition,
            batch,
            reply,
        })
        .await
    }

    /// Indexes series without data in `partition` of `shard`, here or on the owning
    /// core (the series of points a write dropped, as influxd indexes them).
    pub async fn index_series(
        self: &Rc<Self>,
        shard: &ShardRef,
        partition: u32,
        keys: Vec<Vec<u8>>,
    ) -> Result<(), String> {
        let owner = router::core_of(shard.id, partition, self.cores);
        if owner == self.core {
            return self.index_series_local(shard, partition, &keys).await;
        }
        self.ask_core(owner, |reply| CoreMsg::IndexSeries {
            shard: shard.clone(),
            partition,
            keys,
            reply,
        })
        .await
    }

    /// Sends another core the message `make` builds around a reply channel and waits for
    /// its answer.
    async fn ask_core(
        &self,
        core: usize,
        make: impl FnOnce(flume::Sender<Result<(), String>>) -> CoreMsg,
    ) -> Result<(), String> {
        let gone = || EngineError::CoreGone(core).to_string();
        let (reply, answer) = flume::bounded(1);
        self.mesh[core]
            .send_async(make(reply))
            .await
            .map_err(|_| gone())?;
        answer.recv_async().await.map_err(|_| gone())?
    }

    async fn index_series_local(
        &self,
        shard: &ShardRef,
        partition: u32,
        keys: &[Vec<u8>],
    ) -> Result<(), String> {
        let p = self
            .partition(shard, partition)
            .await
            .map_err(|e| e.to_string())?;
        let version = p.catalog_version();
        p.index_series(keys);
        if p.catalog_version() != version {
            self.catalog_changed();
        }
        Ok(())
    }

    async fn write_local(
        &self,
        shard: &ShardRef,
        partition: u32,
        batch: &[u8],
    ) -> Result<(), String> {
        let p = self
            .partition(shard, partition)
            .await
            .map_err(|e| e.to_string())?;
        let version = p.catalog_version();
        let written = p.write(batch).await.map_err(|e| e.to_string());
        if p.catalog_version() != version {
            self.catalog_changed();
        }
        written
    }

    /// The shard's partition count and the types it holds for `fields`, registering new
    /// fields (and, for a new shard, its manifest) with its home core. What this core has
    /// seen before is answered from its own cache.
    pub async fn field_types(
        self: &Rc<Self>,
        shard: &ShardRef,
        fields: Vec<FieldRequest>,
    ) -> Result<Registered, RegisterError> {
        let gone = |core: usize| {
            RegisterError::Failed(FieldsError {
                path: String::new(),
                reason: EngineError::CoreGone(core).to_string(),
            })
        };
        let partitions = self.known_partitions.borrow().get(&shard.id).copied();
        let mut out: Vec<Option<FieldType>> = fields
            .iter()
            .map(|((m, f), _, _)| self.known_field(shard.id, m, f))
            .collect();
        // A point with a field this core already knows to conflict is dropped: none of
        // its fields is asked for.
        let dropped: std::collections::HashSet<u32> = fields
            .iter()
            .zip(&out)
            .filter(|((_, t, _), held)| held.is_some_and(|h| h != *t))
            .map(|((_, _, point), _)| *point)
            .collect();
        let asked: Vec<usize> = (0..fields.len())
            .filter(|&i| out[i].is_none() && !dropped.contains(&fields[i].2))
            .collect();
        let missing: Vec<FieldRequest> = asked.iter().map(|&i| fields[i].clone()).collect();
        if let (true, Some(p)) = (missing.is_empty(), partitions) {
            return Ok((p, out));
        }
        let home = router::home_core(shard.id, self.cores);
        let (partitions, answered) = if home == self.core {
            self.register_local(shard, &missing).await?
        } else {
            let (reply, answer) = flume::bounded(1);
            self.mesh[home]
                .send_async(CoreMsg::RegisterFields {
                    shard: shard.clone(),
                    fields: missing.clone(),
                    reply,
                })
                .await
                .map_err(|_| gone(home))?;
            answer.recv_async().await.map_err(|_| gone(home))??
        };
        self.known_partitions
            .borrow_mut()
            .insert(shard.id, partitions);
        {
            let mut known = self.known_fields.borrow_mut();
            let k = known.entry(shard.id).or_default();
            // (A field left unregistered, its point dropped, stays unknown.)
            for (((m, f), _, _), t) in missing.iter().zip(&answered) {
                if let Some(t) = t {
                    k.entry(m.clone()).or_default().insert(f.clone(), *t);
                }
            }
        }
        for (i, t) in asked.into_iter().zip(answered) {
            out[i] = t;
        }
        Ok((partitions, out))
    }

    /// The type this core knows `shard` holds for a field, without asking anyone.
    pub fn known_field(&self, shard: u64, measurement: &[u8], field: &[u8]) -> Option<FieldType> {
        self.known_fields
            .borrow()
            .get(&shard)?
            .get(measurement)?
            .get(field)
            .copied()
    }

    /// The shard's partition count, if this core has learned it.
    pub fn known_partitions(&self, shard: u64) -> Option<u32> {
        self.known_partitions.borrow().get(&shard).copied()
    }

    /// Tells every core (this one included) that a field registry changed (`forgot`: a
    /// shard forgot a measurement's fields), and waits until each has taken note.
    async fn announce_fields_changed(&self, forgot: Option<(u64, Box<[u8]>)>) {
        self.fields_changed(forgot.as_ref());
        let mut waits = Vec::new();
        for core in (0..self.cores).filter(|c| *c != self.core) {
            let (reply, rx) = flume::bounded(1);
            let forgot = forgot.clone();
            if self.mesh[core]
                .send_async(CoreMsg::FieldsChanged { forgot, reply })
                .await
                .is_ok()
            {
                waits.push(rx);
            }
        }
        for rx in waits {
            let _ = rx.recv_async().await;
        }
    }

    /// Takes note of a registry change on this core.
    fn fields_changed(&self, forgot: Option<&(u64, Box<[u8]>)>) {
        if let Some((shard, m)) = forgot {
            if let Some(known) = self.known_fields.borrow_mut().get_mut(shard) {
                known.remove(m);
            }
        }
        crate::select::fields_changed();
    }

    /// Forgets every field of `measurement` (escaped) in `shard`, on its home core, and
    /// tells every core: DROP MEASUREMENT, after which the measurement may come back with
    /// other types, as in influxd.
    pub async fn forget_fields(&self, shard: u64, measurement: &[u8]) -> Result<(), FieldsError> {
        let home = router::home_core(shard, self.cores);
        if home == self.core {
            return self.forget_local(shard, measurement).await;
        }
        let gone = || FieldsError {
            path: String::new(),
            reason: EngineError::CoreGone(home).to_string(),
        };
        let (reply, answer) = flume::bounded(1);
        self.mesh[home]
            .send_async(CoreMsg::ForgetFields {
                shard,
                measurement: measurement.into(),
                reply,
            })
            .await
            .map_err(|_| gone())?;
        answer.recv_async().await.map_err(|_| gone())?
    }

    async fn forget_local(&self, shard: u64, measurement: &[u8]) -> Result<(), FieldsError> {
        let Some(dir) = self.shard_dir(shard) else {
            return Ok(());
        };
        let changed = {
            let mut regs = self.registries.borrow_mut();
            let registry = match regs.entry(shard) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => e.insert(ShardFields::load(&dir)?),
            };
            registry.forget(measurement)?
        };
        if changed {
            self.announce_fields_changed(Some((shard, measurement.into())))
                .await;
        }
        Ok(())
    }

    /// The directory of a shard stored on this node (`data/<db>/<rp>/<id>`), if any.
    fn shard_dir(&self, shard: u64) -> Option<PathBuf> {
        if let Some(r) = self.shard_refs.borrow().get(&shard) {
            return Some(self.cfg.data_dir.join(r.rel()));
        }
        scan_partitions(&self.cfg.data_dir, &self.cfg.wal_dir)
            .into_iter()
            .find(|(r, _)| r.id == shard)
            .map(|(r, _)| self.cfg.data_dir.join(r.rel()))
    }

    /// Registers fields in a shard this core is home to. When the registry grew (new
    /// fields are kept even when the request fails on a conflict), every core is told
    /// before the answer.
    async fn register_local(
        &self,
        shard: &ShardRef,
        fields: &[FieldRequest],
    ) -> Result<Registered, RegisterError> {
        let registered = || {
            self.registries
                .borrow()
                .get(&shard.id)
                .map_or(0, ShardFields::len)
        };
        // A registry loaded by this call counts as grown: one extra announcement per
        // shard and process, harmless.
        let before = registered();
        let r = self.register_in(shard, fields);
        if registered() > before {
            self.announce_fields_changed(None).await;
        }
        r
    }

    fn register_in(
        &self,
        shard: &ShardRef,
        fields: &[FieldRequest],
    ) -> Result<Registered, RegisterError> {
        let dir = self.cfg.data_dir.join(shard.rel());
        // The first write into a shard this node does not hold yet registers its fields
        // as influxd's first write into a new shard creates them.
        let first_write = !self.known_partitions.borrow().contains_key(&shard.id)
            && !crate::manifest::exists(&dir);
        let partitions = match self.known_partitions.borrow().get(&shard.id) {
            Some(p) => *p,
            None => crate::manifest::load_or_create(&dir, self.cfg.partitions_per_shard).map_err(
                |e| {
                    RegisterError::Failed(FieldsError {
                        path: e.path,
                        reason: e.reason,
                    })
                },
            )?,
        };
        self.known_partitions
            .borrow_mut()
            .insert(shard.id, partitions);
        let mut regs = self.registries.borrow_mut();
        let registry = match regs.entry(shard.id) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => e.insert(ShardFields::load(&dir)?),
        };
        let types = if first_write {
            registry.register_first(fields)?
        } else {
            registry.register(fields)?
        };
        Ok((partitions, types))
    }

    /// Serves messages from other cores until every sender is gone.
    pub async fn serve_mesh(self: Rc<Self>, inbox: flume::Receiver<CoreMsg>) {
        let mut linger_until: Option<std::time::Instant> = None;
        loop {
            let msg = match inbox.try_recv() {
                Ok(m) => m,
                Err(flume::TryRecvError::Disconnected) => break,
                Err(flume::TryRecvError::Empty) => {
                    if linger_until.is_some_and(|t| std::time::Instant::now() < t) {
                        glommio::executor().yield_task_queue_now().await;
                        continue;
                    }
                    linger_until = None;
                    match inbox.recv_async().await {
                        Ok(m) => m,
                        Err(_) => break,
                    }
                }
            };
            // A core asked for its part of a query polls its inbox a little before it
            // sleeps: the next query of a dashboard or client loop asks again within a
            // fraction of a millisecond, and a sleeping core costs each of them a
            // wake-up through the kernel (tens of microseconds on a virtual machine).
            if matches!(msg, CoreMsg::Scatter(_)) && !self.cfg.scatter_linger.is_zero() {
                linger_until = Some(std::time::Instant::now() + self.cfg.scatter_linger);
            }
            let me = Rc::clone(&self);
            glommio::spawn_local(async move {
                match msg {
                    CoreMsg::Write {
                        shard,
                        partition,
                        batch,
                        reply,
                    } => {
                        let r = me.write_local(&shard, partition, &batch).await;
                        let _ = reply.send_async(r).await;
                    }
                    CoreMsg::IndexSeries {
                        shard,
                        partition,
                        keys,
                        reply,
                    } => {
                        let r = me.index_series_local(&shard, partition, &keys).await;
                        let _ = reply.send_async(r).await;
                    }
                    CoreMsg::RegisterFields {
                        shard,
                        fields,
                        reply,
                    } => {
                        let r = me.register_local(&shard, &fields).await;
                        let _ = reply.send_async(r).await;
                    }
                    CoreMsg::Scatter(m) => crate::scatter::serve(&me, m).await,
                    CoreMsg::FieldsChanged { forgot, reply } => {
                        me.fields_changed(forgot.as_ref());
                        let _ = reply.send_async(()).await;
                    }
                    CoreMsg::ForgetFields {
                        shard,
                        measurement,
                        reply,
                    } => {
                        let r = me.forget_local(shard, &measurement).await;
                        let _ = reply.send_async(r).await;
                    }
                    CoreMsg::Handoff {
                        node,
                        payload,
                        reply,
                    } => {
                        let r = crate::handoff::append_local(node, &payload).await;
                        let _ = reply.send_async(r).await;
                    }
                }
            })
            .detach();
        }
    }
}

impl Engine {
    /// Closes and deletes the local partitions of shards the metadata no longer has (their
    /// group expired or was deleted, their database or retention policy dropped). Only
    /// shards the snapshot knows of (id up to its highest shard id) are judged, so a shard
    /// created a moment ago by another core is never mistaken for a deleted one.
    pub fn drop_deleted_shards(&self, snapshot: &tessera_meta_types::Snapshot) {
        let data = &snapshot.data;
        let mut live = std::collections::HashSet::new();
        for db in data.databases.values() {
            for rp in db.retention_policies.values() {
                for g in rp.shard_groups.iter().filter(|g| !g.is_deleted()) {
                    live.extend(g.shards.iter().map(|s| s.id));
                }
            }
        }
        let doomed: Vec<u64> = self
            .shard_refs
            .borrow()
            .keys()
            .copied()
            .filter(|id| *id <= data.max_shard_id && !live.contains(id))
            .collect();
        for id in doomed {
            let Some(shard) = self.shard_refs.borrow_mut().remove(&id) else {
                continue;
            };
            self.partitions.borrow_mut().retain(|(s, _), _| *s != id);
            self.catalog_changed();
            self.known_fields.borrow_mut().remove(&id);
            self.known_partitions.borrow_mut().remove(&id);
            self.registries.borrow_mut().remove(&id);
            for root in [&self.cfg.data_dir, &self.cfg.wal_dir] {
                let dir = root.join(shard.rel());
                // Only this core's partitions; the shard directory goes when it is empty.
                for pd in read_dirs(&dir) {
                    let Some(p) = name_of(&pd)
                        .and_then(|n| n.strip_prefix('p').map(str::to_string))
                        .and_then(|n| n.parse::<u32>().ok())
                    else {
                        continue;
                    };
                    if router::core_of(id, p, self.cores) != self.core {
                        continue;
                    }
                    if let Err(e) = std::fs::remove_dir_all(&pd) {
                        tracing::warn!(path = %pd.display(), error = %e, "cannot remove a deleted shard's partition");
                    }
                }
                if router::home_core(id, self.cores) == self.core {
                    let _ = std::fs::remove_file(dir.join("fields.log"));
                    let _ = std::fs::remove_file(dir.join("manifest"));
                }
                let _ = std::fs::remove_dir(&dir);
            }
            crate::select::fields_changed();
            tracing::info!(core = self.core, shard = id, database = %shard.database, "deleted the data of a dropped shard");
        }
    }

    /// Runs cold-partition upkeep every second, forever (see `Partition::maintain`).
    pub async fn maintenance(self: Rc<Self>) {
        loop {
            glommio::timer::sleep(std::time::Duration::from_secs(1)).await;
            for (shard, p, part) in self.open_partitions() {
                if let Err(e) = part
                    .maintain(self.cfg.snapshot_cold, self.cfg.full_compaction_cold)
                    .await
                {
                    tracing::error!(shard = shard.id, partition = p, error = %e, "partition upkeep failed");
                }
            }
        }
    }

    /// Flushes every cache to files so a restart has less WAL to replay.
    pub async fn shutdown(&self) {
        for (shard, p, part) in self.open_partitions() {
            if let Err(e) = part.flush().await {
                tracing::warn!(shard = shard.id, partition = p, error = %e, "flush at shutdown failed; the WAL keeps the data");
            }
        }
    }
}

/// Every `(shard, partition)` with data or WAL on disk.
pub fn scan_partitions(data_dir: &Path, wal_dir: &Path) -> Vec<(ShardRef, u32)> {
    let mut found = std::collections::BTreeSet::new();
    for root in [data_dir, wal_dir] {
        for db in read_dirs(root) {
            for rp in read_dirs(&db) {
                for shard in read_dirs(&rp) {
                    let Some(id) = name_of(&shard).and_then(|n| n.parse::<u64>().ok()) else {
                        continue;
                    };
                    for part in read_dirs(&shard) {
                        let Some(p) = name_of(&part)
                            .and_then(|n| n.strip_prefix('p').map(str::to_string))
                            .and_then(|n| n.parse::<u32>().ok())
                        else {
                            continue;
                        };
                        found.insert((
                            name_of(&db).unwrap_or_default(),
                            name_of(&rp).unwrap_or_default(),
                            id,
                            p,
                        ));
                    }
                }
            }
        }
    }
    found
        .into_iter()
        .map(|(db, rp, id, p)| {
            (
                ShardRef {
                    database: db.into(),
                    retention_policy: rp.into(),
                    id,
                },
                p,
            )
        })
        .collect()
}

fn read_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn name_of(p: &Path) -> Option<String> {
    p.file_name().map(|n| n.to_string_lossy().to_string())
}
