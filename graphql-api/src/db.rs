//! The Postgres pool, and creating the database on a fresh machine.

use anyhow::Context as _;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, Statement};
use secrecy::ExposeSecret as _;

use crate::config::Config;

/// A status as the database spells it (the entities' enums are the one spelling).
pub fn spelled<E: sea_orm::ActiveEnum<Value = String>>(status: &E) -> String {
    status.to_value()
}

/// A status as an SQL literal, for statements written once at start. Literals rather than
/// bound parameters on purpose: a partial index (`WHERE status = 'ACTIVE'`) is only usable by
/// a plan that sees the literal, and a prepared statement's generic plan would not.
pub fn literal<E: sea_orm::ActiveEnum<Value = String>>(status: &E) -> String {
    format!("'{}'", spelled(status))
}

/// Whether `error` broke the unique constraint (or index) named `constraint`.
pub fn is_unique_violation(error: &sea_orm::DbErr, constraint: &str) -> bool {
    matches!(error.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(message)) if message.contains(constraint))
}

/// Postgres's SQLSTATE for a deadlock: two transactions locked each other and one was
/// chosen to fail. Retrying it is safe and usually succeeds.
const DEADLOCK_DETECTED: &str = "40P01";

/// Whether `error` (anywhere in its chain of causes) is worth one more try: Postgres broke a
/// deadlock by failing this transaction.
pub fn is_deadlock(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        sqlx_of(cause)
            .and_then(sea_orm::sqlx::Error::as_database_error)
            .and_then(|database| database.code())
            .is_some_and(|code| code == DEADLOCK_DETECTED)
    })
}

/// The sqlx error inside a sea-orm or sqlx error, if any.
fn sqlx_of<'a>(cause: &'a (dyn std::error::Error + 'static)) -> Option<&'a sea_orm::sqlx::Error> {
    match cause.downcast_ref::<sea_orm::DbErr>() {
        Some(
            sea_orm::DbErr::Query(sea_orm::RuntimeErr::SqlxError(sqlx))
            | sea_orm::DbErr::Exec(sea_orm::RuntimeErr::SqlxError(sqlx))
            | sea_orm::DbErr::Conn(sea_orm::RuntimeErr::SqlxError(sqlx)),
        ) => Some(sqlx.as_ref()),
        _ => cause.downcast_ref::<sea_orm::sqlx::Error>(),
    }
}

/// Whether Postgres could not be reached, anywhere in `error`'s chain of causes: the pool had
/// no connection in time or was closed, a connection broke (a restart, a failover, the network),
/// or the server said it is shutting down or starting up (SQLSTATE classes `57P` and `08`).
/// A moment to wait out: every sale mutation carries an idempotency key, so a retry after a
/// connection that broke around a `COMMIT` answers as a replay, never twice.
pub fn is_unavailable(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        // sea-orm's pool errors: timed out, or closed.
        if matches!(
            cause.downcast_ref::<sea_orm::DbErr>(),
            Some(sea_orm::DbErr::ConnectionAcquire(_))
        ) {
            return true;
        }
        match sqlx_of(cause) {
            Some(
                sea_orm::sqlx::Error::Io(_)
                | sea_orm::sqlx::Error::PoolClosed
                | sea_orm::sqlx::Error::PoolTimedOut
                | sea_orm::sqlx::Error::WorkerCrashed,
            ) => true,
            Some(other) => other
                .as_database_error()
                .and_then(|database| database.code())
                .is_some_and(|code| code.starts_with("57P") || code.starts_with("08")),
            None => false,
        }
    })
}

/// Counts statements sent to Postgres by one instance (tests use it to prove there is no N+1).
#[derive(Clone, Debug, Default)]
pub struct QueryCounter(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl QueryCounter {
    pub fn get(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Opens this instance's pool, counting its statements into `counter`.
pub async fn connect_counted(
    config: &Config,
    counter: &QueryCounter,
) -> anyhow::Result<DatabaseConnection> {
    let mut db = connect(config).await?;
    let counter = counter.0.clone();
    db.set_metric_callback(move |_| {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    });
    Ok(db)
}

/// Opens a pool with the configured size and timeouts.
pub async fn connect(config: &Config) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(config.database_url.expose_secret().to_owned());
    options
        .max_connections(config.db_max_connections)
        .min_connections(1)
        .acquire_timeout(config.db_acquire_timeout())
        .statement_timeout(config.db_statement_timeout())
        // A ping on every checkout would be one more round trip per sale mutation (whose
        // success path is one or two); only a connection idle long enough to have been
        // dropped is pinged.
        .test_before_acquire_if_idle_for(std::time::Duration::from_secs(5))
        .set_application_name("graphql-api")
        .sqlx_logging(false);
    let plan_cache_mode = config.db_plan_cache_mode.as_str();
    let names_ssl_mode = config.database_url.expose_secret().contains("sslmode=");
    options.map_sqlx_postgres_opts(move |options| {
        let options = options.options([("plan_cache_mode", plan_cache_mode)]);
        if !names_ssl_mode && is_loopback(options.get_host()) {
            // TLS to a Postgres on this machine protects nothing and costs both ends CPU on
            // every statement; an explicit `sslmode` in the URL still wins.
            options.ssl_mode(sea_orm::sqlx::postgres::PgSslMode::Disable)
        } else {
            options
        }
    });
    Database::connect(options)
        .await
        .context("connecting to Postgres (is it running? see DATABASE_URL)")
}

/// Whether a Postgres host is this machine: a loopback address, `localhost`, or a socket.
fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host.starts_with('/')
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

/// Creates the database named in `url` if it does not exist yet (first run on a machine).
pub async fn create_database_if_missing(url: &str) -> anyhow::Result<()> {
    let (server, name) = split_database_url(url)?;
    let admin = Database::connect(format!("{server}/postgres"))
        .await
        .context("connecting to the `postgres` database to create ours")?;
    let exists = admin
        .query_one_raw(Statement::from_sql_and_values(
            admin.get_database_backend(),
            "SELECT 1 FROM pg_database WHERE datname = $1",
            [name.clone().into()],
        ))
        .await
        .context("looking for the database")?
        .is_some();
    if !exists {
        // A concurrent creator wins the race harmlessly: "already exists" is fine.
        if let Err(error) = admin
            .execute_unprepared(&format!("CREATE DATABASE {}", quote_ident(&name)))
            .await
            && !error.to_string().contains("already exists")
        {
            return Err(error).context("creating the database");
        }
        tracing::info!(database = %name, "created database");
    }
    admin.close().await.ok();
    Ok(())
}

/// Splits `postgres://user@host:port/db?opts` into the server part and the database name.
pub fn split_database_url(url: &str) -> anyhow::Result<(String, String)> {
    let without_query = url.split('?').next().unwrap_or(url);
    let (server, name) = without_query
        .rsplit_once('/')
        .filter(|(server, name)| {
            server.contains("://") && !server.ends_with('/') && !name.is_empty()
        })
        .context("DATABASE_URL must name a database, like postgres://user@host:5432/tickets")?;
    Ok((server.to_owned(), name.to_owned()))
}

/// Quotes an identifier for SQL that cannot take it as a parameter (CREATE DATABASE).
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_machine_counts_as_loopback() {
        for host in [
            "127.0.0.1",
            "127.0.0.53",
            "::1",
            "[::1]",
            "localhost",
            "/var/run/postgresql",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in ["10.0.0.5", "db.example.com", "192.168.1.1", "2001:db8::1"] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[test]
    fn a_database_url_splits_into_server_and_name() {
        let (server, name) =
            split_database_url("postgres://postgres@127.0.0.1:5432/tickets?sslmode=disable")
                .expect("valid url");
        assert_eq!(server, "postgres://postgres@127.0.0.1:5432");
        assert_eq!(name, "tickets");
    }

    #[test]
    fn a_database_url_without_a_name_is_refused() {
        assert!(split_database_url("postgres://postgres@127.0.0.1:5432").is_err());
        assert!(split_database_url("postgres://postgres@127.0.0.1:5432/").is_err());
    }

    #[test]
    fn identifiers_are_quoted_safely() {
        assert_eq!(quote_ident(r#"a"b"#), r#""a""b""#);
    }
}
