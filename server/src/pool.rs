//! A small pool of stores, one database connection each. Store work is synchronous (rusqlite,
//! the `postgres` client), so it runs on tokio's blocking threads, never on the reactor; a
//! semaphore bounds how many run at once, and a connection that failed is replaced.

use std::sync::{Arc, Mutex, PoisonError};

use calstore_core::{SqlConnection, Store, StoreError};
use tokio::sync::Semaphore;

/// A connection a pooled store may use: any backend that can cross threads.
pub type PooledConnection = Box<dyn SqlConnection + Send>;

/// A store of the pool.
pub type PooledStore = Store<PooledConnection>;

/// Opens a new connection (and store) for the pool.
pub type Opener = dyn Fn() -> Result<PooledStore, StoreError> + Send + Sync;

/// The pool.
pub struct Pool {
    idle: Mutex<Vec<PooledStore>>,
    permits: Semaphore,
    open: Box<Opener>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("available", &self.permits.available_permits())
            .finish_non_exhaustive()
    }
}

/// Why pooled work did not run to its end.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The pool is closed (the server is shutting down) or the task panicked.
    #[error("the server is shutting down")]
    Closed,
}

impl Pool {
    /// A pool of at most `size` stores opened by `open` (lazily).
    pub fn new(size: usize, open: Box<Opener>) -> Arc<Self> {
        Arc::new(Pool {
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(size.max(1)),
            open,
        })
    }

    fn take(&self) -> Result<PooledStore, StoreError> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match idle {
            Some(s) => Ok(s),
            None => (self.open)(),
        }
    }

    fn give_back(&self, store: PooledStore) {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(store);
    }

    /// Closes the idle stores (their connections), and makes the pool refuse new work. Call
    /// it on a blocking thread: a PostgreSQL connection closes synchronously.
    pub fn close(&self) {
        self.permits.close();
        let idle = std::mem::take(&mut *self.idle.lock().unwrap_or_else(PoisonError::into_inner));
        drop(idle);
    }

    /// Runs `f` with a store on a blocking thread. A store whose work failed with a database
    /// error is dropped (its connection may be broken), not returned to the pool.
    pub async fn run<T, F>(self: &Arc<Self>, f: F) -> Result<T, PoolError>
    where
        T: Send + 'static,
        F: FnOnce(&mut PooledStore) -> Result<T, StoreError> + Send + 'static,
    {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| PoolError::Closed)?;
        let pool = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let mut store = pool.take()?;
            let result = f(&mut store);
            if !matches!(result, Err(StoreError::Db(_))) {
                pool.give_back(store);
            }
            result.map_err(PoolError::from)
        })
        .await
        .map_err(|_| PoolError::Closed)?
    }
}
