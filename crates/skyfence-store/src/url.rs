//! Which store to open: `[store] url` (or `path`, the same as `sqlite:PATH`).

use std::fmt;
use std::path::{Path, PathBuf};

use crate::StoreError;

/// The URL schemes [`StoreUrl::parse`] knows, with what each opens.
pub const KNOWN_SCHEMES: &[(&str, &str)] = &[
    ("sqlite:", "an SQLite file (built in)"),
    ("postgres://", "a PostgreSQL server with PostGIS"),
];

/// Where a store is: the one value that picks a backend ([`crate::open`]).
#[derive(Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// An SQLite file (`sqlite:PATH`; a relative path is relative to the config file).
    Sqlite(PathBuf),
    /// A PostgreSQL database (`postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`, as
    /// given; printed without the password).
    Postgres(String),
}

/// Never prints a PostgreSQL password.
impl fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreUrl::Sqlite(p) => f.debug_tuple("Sqlite").field(p).finish(),
            StoreUrl::Postgres(_) => f.debug_tuple("Postgres").field(&self.to_string()).finish(),
        }
    }
}

impl StoreUrl {
    /// Reads `sqlite:PATH` (also `sqlite://PATH`) and `postgres://…` (also
    /// `postgresql://`, checked by the driver's parser: host, port, user, database,
    /// parameters; a build without the `postgres` feature refuses it); any other scheme
    /// is refused with the list of known ones.
    pub fn parse(url: &str) -> Result<StoreUrl, StoreError> {
        let bad = |reason: String| StoreError::Url {
            url: url.to_string(),
            reason,
        };
        if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if path.is_empty() {
                return Err(bad(
                    "no file after \"sqlite:\" (expected sqlite:PATH, e.g. sqlite:skyfence.db)"
                        .into(),
                ));
            }
            return Ok(StoreUrl::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            #[cfg(feature = "postgres")]
            {
                return crate::pg::check_url(url)
                    .map(|()| StoreUrl::Postgres(url.to_string()))
                    .map_err(|reason| StoreError::Url {
                        url: crate::pg::redact(url),
                        reason,
                    });
            }
            #[cfg(not(feature = "postgres"))]
            return Err(bad(
                "the PostgreSQL backend is not built in (cargo feature `postgres`; use sqlite:PATH)"
                    .into(),
            ));
        }
        let known: Vec<&str> = KNOWN_SCHEMES.iter().map(|(s, _)| *s).collect();
        Err(bad(format!(
            "unknown scheme (expected one of: {})",
            known.join(", ")
        )))
    }

    /// The SQLite file at `path`.
    pub fn sqlite(path: impl Into<PathBuf>) -> StoreUrl {
        StoreUrl::Sqlite(path.into())
    }

    /// The same store with a relative file path resolved against `base` (the config
    /// file's directory).
    pub fn relative_to(&self, base: &Path) -> StoreUrl {
        match self {
            StoreUrl::Sqlite(p) => StoreUrl::Sqlite(base.join(p)),
            StoreUrl::Postgres(_) => self.clone(),
        }
    }

    /// The file the store lives in, for a file-based backend: the evidence log's key is
    /// kept beside it by default.
    pub fn file(&self) -> Option<&Path> {
        match self {
            StoreUrl::Sqlite(p) => Some(p),
            StoreUrl::Postgres(_) => None,
        }
    }

    /// Whether the store exists already (a command that reads a store must not create
    /// an empty one by mistake). A server's database is taken to exist: opening it
    /// says whether it does.
    pub fn exists(&self) -> bool {
        match self {
            StoreUrl::Sqlite(p) => p.exists(),
            StoreUrl::Postgres(_) => true,
        }
    }
}

/// Prints the store as messages name it: the file path of an SQLite store, the URL of a
/// PostgreSQL one without its password.
impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreUrl::Sqlite(p) => p.display().fmt(f),
            #[cfg(feature = "postgres")]
            StoreUrl::Postgres(u) => f.write_str(&crate::pg::redact(u)),
            #[cfg(not(feature = "postgres"))]
            StoreUrl::Postgres(_) => f.write_str("postgres://"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_a_file() {
        assert_eq!(
            StoreUrl::parse("sqlite:data/s.db").unwrap(),
            StoreUrl::Sqlite("data/s.db".into())
        );
        assert_eq!(
            StoreUrl::parse("sqlite:///var/lib/s.db").unwrap(),
            StoreUrl::Sqlite("/var/lib/s.db".into())
        );
        assert_eq!(
            StoreUrl::sqlite("a.db").relative_to(Path::new("/etc/skyfence")),
            StoreUrl::Sqlite("/etc/skyfence/a.db".into())
        );
        assert_eq!(StoreUrl::sqlite("a.db").to_string(), "a.db");
        let e = StoreUrl::parse("sqlite:").unwrap_err().to_string();
        assert!(e.contains("no file after"), "{e}");
    }

    #[test]
    fn other_schemes_are_refused_with_the_known_ones() {
        let e = StoreUrl::parse("mysql://db/x").unwrap_err().to_string();
        assert!(
            e.contains("\"mysql://db/x\"") && e.contains("sqlite:, postgres://"),
            "{e}"
        );
        assert!(matches!(
            StoreUrl::parse("skyfence.db"),
            Err(StoreError::Url { .. })
        ));
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn postgres_urls_are_checked_and_printed_without_password() {
        let u = StoreUrl::parse("postgres://skyfence:s3cret@127.0.0.1:5433/skyfence").unwrap();
        assert_eq!(
            u,
            StoreUrl::Postgres("postgres://skyfence:s3cret@127.0.0.1:5433/skyfence".into())
        );
        assert_eq!(u.to_string(), "postgres://skyfence@127.0.0.1:5433/skyfence");
        assert!(!format!("{u:?}").contains("s3cret"));
        assert_eq!(u.file(), None);
        assert_eq!(u.relative_to(Path::new("/etc")), u);
        assert!(StoreUrl::parse("postgresql://u@db/skyfence").is_ok());
        // The driver's parser names what is wrong.
        let e = StoreUrl::parse("postgres://u@db:notaport/x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"postgres://u@db:notaport/x\""), "{e}");
        assert!(e.contains("port"), "{e}");
        let e = StoreUrl::parse("postgres://u@db/x?sslmode=require")
            .unwrap_err()
            .to_string();
        assert!(e.contains("without TLS"), "{e}");
        let e = StoreUrl::parse("postgres://u@db/x?nonsense=1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("nonsense"), "{e}");
    }
}
