//! A fresh database per test, cloned from a migrated template.

use std::time::Duration;

use anyhow::Context as _;
use migrations::{Migrator, MigratorTrait as _};
use sea_orm::{ConnectionTrait as _, Database, DatabaseConnection, Statement};

use crate::db::{quote_ident, split_database_url};

/// Where tests find Postgres for admin work.
pub fn admin_database_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// Any key that fits in a Postgres advisory lock, the same in every test process.
const TEMPLATE_LOCK: i64 = 0x7469_636b_6574;

/// A database of its own for one test, migrated, dropped when the value is dropped.
pub struct TestDb {
    pub name: String,
    pub url: String,
    pub connection: DatabaseConnection,
    /// The server's admin database, where the test database is dropped from.
    admin_url: String,
}

impl TestDb {
    /// Clones the migrated template into a new database on the shared server.
    pub async fn new() -> Self {
        Self::on_server(&admin_database_url()).await
    }

    /// Clones the migrated template into a new database on the server whose admin database
    /// `admin_url` names (a private one, say); the template is made there first if missing.
    pub async fn on_server(admin_url: &str) -> Self {
        Self::try_new(admin_url.to_owned())
            .await
            .expect("creating a test database")
    }

    async fn try_new(admin_url: String) -> anyhow::Result<Self> {
        let (server, _) = split_database_url(&admin_url)?;
        let template = ensure_template(&admin_url).await?;
        let name = format!("tickets_test_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(&admin_url)
            .await
            .context("connecting as admin")?;
        let create = format!(
            "CREATE DATABASE {} TEMPLATE {}",
            quote_ident(&name),
            quote_ident(&template)
        );
        let mut attempt = 0;
        loop {
            match admin.execute_unprepared(&create).await {
                Ok(_) => break,
                // Another process may be briefly connected to the template; try again.
                Err(error) if attempt < 20 && error.to_string().contains("being accessed") => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
                }
                Err(error) => return Err(error).context("cloning the template database"),
            }
        }
        admin.close().await.ok();
        let url = format!("{server}/{name}");
        let connection = Database::connect(&url)
            .await
            .context("connecting to the test database")?;
        Ok(Self {
            name,
            url,
            connection,
            admin_url,
        })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if std::env::var_os("KEEP_TEST_DB").is_some() {
            eprintln!("kept test database {}", self.name);
            return;
        }
        let name = self.name.clone();
        let admin_url = self.admin_url.clone();
        // Drop runs inside the test's runtime; a thread with its own runtime can block.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                runtime.block_on(async {
                    if let Ok(admin) = Database::connect(admin_url).await {
                        let sql = format!(
                            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                            quote_ident(&name)
                        );
                        let _ = admin.execute_unprepared(&sql).await;
                        admin.close().await.ok();
                    }
                });
            }
        })
        .join();
    }
}

/// Makes the migrated template once per migration set; returns its name.
async fn ensure_template(admin_url: &str) -> anyhow::Result<String> {
    let name = format!("tickets_tmpl_{}", migrations::fingerprint());
    let mut options = sea_orm::ConnectOptions::new(admin_url.to_owned());
    // One connection: the advisory lock belongs to a session.
    options
        .max_connections(1)
        .min_connections(1)
        .sqlx_logging(false);
    let admin = Database::connect(options)
        .await
        .context("connecting as admin")?;
    admin
        .execute_unprepared(&format!("SELECT pg_advisory_lock({TEMPLATE_LOCK})"))
        .await?;
    let result = build_template_if_missing(&admin, admin_url, &name).await;
    admin
        .execute_unprepared(&format!("SELECT pg_advisory_unlock({TEMPLATE_LOCK})"))
        .await
        .ok();
    admin.close().await.ok();
    result.map(|()| name)
}

async fn build_template_if_missing(
    admin: &DatabaseConnection,
    admin_url: &str,
    name: &str,
) -> anyhow::Result<()> {
    let exists = admin
        .query_one_raw(Statement::from_sql_and_values(
            admin.get_database_backend(),
            "SELECT 1 FROM pg_database WHERE datname = $1",
            [name.into()],
        ))
        .await?
        .is_some();
    if exists {
        return Ok(());
    }
    // Built under another name and renamed when complete, so a crash mid-way never leaves a
    // half-migrated template behind under the real name.
    let building = format!("{name}_building");
    admin
        .execute_unprepared(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            quote_ident(&building)
        ))
        .await?;
    admin
        .execute_unprepared(&format!("CREATE DATABASE {}", quote_ident(&building)))
        .await?;
    let (server, _) = split_database_url(admin_url)?;
    let db = Database::connect(format!("{server}/{building}")).await?;
    Migrator::up(&db, None)
        .await
        .context("migrating the template")?;
    db.close().await.ok();
    admin
        .execute_unprepared(&format!(
            "ALTER DATABASE {} RENAME TO {}",
            quote_ident(&building),
            quote_ident(name)
        ))
        .await
        .context("renaming the template")?;
    Ok(())
}
