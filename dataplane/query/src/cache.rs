//! Small per-thread caches of things a query builds from a name: compiled regexes,
//! time zones read from disk. Dashboards repeat their queries, and building one costs
//! more than the rest of a small query.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::thread::LocalKey;

/// What a `thread_local!` cache holds: values by name.
pub type CacheCell<V> = RefCell<HashMap<String, Arc<V>>>;

/// A per-thread cache by name; emptied when it would hold more than its bound.
pub type Cache<V> = LocalKey<CacheCell<V>>;

/// The cached value for `key`, or what `make` builds (cached unless it fails).
pub fn get_or_make<V, E>(
    cache: &'static Cache<V>,
    key: &str,
    bound: usize,
    make: impl FnOnce() -> Result<V, E>,
) -> Result<Arc<V>, E> {
    if let Some(v) = cache.with(|c| c.borrow().get(key).cloned()) {
        return Ok(v);
    }
    let v = Arc::new(make()?);
    cache.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= bound {
            c.clear();
        }
        c.insert(key.to_string(), Arc::clone(&v));
    });
    Ok(v)
}
