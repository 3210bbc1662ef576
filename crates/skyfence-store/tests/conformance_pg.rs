//! The conformance suite (`skyfence_store::conformance`) on the PostgreSQL backend, against
//! a real PostgreSQL 15 + PostGIS server this test process starts on 127.0.0.1
//! (`skyfence_testkit::postgres`): the same cases SQLite passes. Each store is a schema of
//! its own in the server's one database. Without the server installed the cases are
//! skipped with a message; under `CI=true` they fail.

use std::sync::atomic::{AtomicU64, Ordering};

use skyfence_store::conformance::Backend;
use skyfence_store::pg::PgStore;
use skyfence_store::{Store, StoreOptions};
use skyfence_testkit::postgres::{PgServer, server};

/// Stores of one test case: schema `c<pid>_<case>_<name>`.
struct PgBackend {
    server: &'static PgServer,
    case: u64,
}

impl PgBackend {
    fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        PgBackend {
            server: server().expect("checked by ready()"),
            case: NEXT.fetch_add(1, Ordering::Relaxed),
        }
    }
}

impl Backend for PgBackend {
    fn open(&self, name: &str, options: StoreOptions) -> Box<dyn Store> {
        let schema = format!("c{}_{}_{name}", std::process::id(), self.case);
        let url = self.server.schema_url(&schema).expect("create schema");
        Box::new(PgStore::open_with(&url, options).expect("open postgres store"))
    }
}

fn ready() -> bool {
    skyfence_testkit::require_tool("PostgreSQL store conformance", server().map(|_| ()))
}

skyfence_store::conformance_suite!(PgBackend::new(), if ready());
