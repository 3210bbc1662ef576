//! The conformance suite (`skyfence_store::conformance`) on the SQLite backend: what every
//! backend promises, checked through the store traits alone.

skyfence_store::conformance_suite!(skyfence_store::conformance::SqliteBackend::new());
