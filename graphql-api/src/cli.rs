//! The commands of the `graphql-api` binary.

use std::time::Instant;

use anyhow::Context as _;
use migrations::{Migrator, MigratorTrait as _};
use secrecy::ExposeSecret as _;

use crate::{
    config::{Cli, Command, Config, LotteryAction, MigrateAction, SeedArgs, VerifyArgs},
    db, schema, seed,
    startup::{Application, shutdown_signal},
};

/// Runs the command the user asked for.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.config;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate { action } => migrate(&config, action).await,
        Command::Seed(args) => seed(&config, &args).await,
        Command::Sdl { write } => sdl(write.as_deref()),
        Command::ErrorCodes => {
            print!("{}", crate::error::ErrorCode::markdown_table());
            Ok(())
        }
        Command::Lottery {
            action: LotteryAction::Verify(args),
        } => verify_lottery(&args),
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    migrate(&config, MigrateAction::Up).await?;
    let app = Application::build(config).await?;
    let address = app.local_addr()?;
    tracing::info!(%address, "graphql-api listening: GraphiQL at http://{address}/graphql");
    app.run_until_stopped(shutdown_signal()).await
}

async fn migrate(config: &Config, action: MigrateAction) -> anyhow::Result<()> {
    db::create_database_if_missing(config.database_url.expose_secret()).await?;
    let db = db::connect(config).await?;
    match action {
        MigrateAction::Up => Migrator::up(&db, None)
            .await
            .context("applying migrations")?,
        MigrateAction::Down => Migrator::down(&db, Some(1)).await.context("rolling back")?,
        MigrateAction::Fresh => Migrator::fresh(&db)
            .await
            .context("re-creating the schema")?,
        MigrateAction::Status => Migrator::status(&db).await.context("listing migrations")?,
    }
    db.close().await.ok();
    Ok(())
}

async fn seed(config: &Config, args: &SeedArgs) -> anyhow::Result<()> {
    migrate(config, MigrateAction::Up).await?;
    let db = db::connect(config).await?;
    if !args.no_demo {
        let report = seed::seed_demo(&db).await?;
        println!("{report}");
    }
    if let Some(seats) = args.seats {
        let started = Instant::now();
        let report = seed::seed_event(&db, &seed::load_test_spec(seats)).await?;
        println!("{report}");
        if report.created {
            println!(
                "  {:.0} seats/s ({:.2} s including ANALYZE)",
                report.seats as f64 / report.elapsed.as_secs_f64().max(1e-9),
                started.elapsed().as_secs_f64()
            );
        }
    }
    db.close().await.ok();
    Ok(())
}

/// Checks a revealed lottery draw; any flaw is an error (exit code 1) that says what is wrong.
fn verify_lottery(args: &VerifyArgs) -> anyhow::Result<()> {
    use crate::queue::lottery::proof;
    let text = if args.file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("reading standard input")?
    } else {
        std::fs::read_to_string(&args.file)
            .with_context(|| format!("reading {}", args.file.display()))?
    };
    let json: serde_json::Value = serde_json::from_str(&text).context("the file is not JSON")?;
    // The whole GraphQL response, or the `lottery` object alone.
    let object = json
        .pointer("/data/lottery")
        .or_else(|| json.get("lottery"))
        .unwrap_or(&json)
        .clone();
    let reveal: proof::Reveal = serde_json::from_value(object).context(
        "not a revealed draw (needs algorithm, commitment, committedAt, closesAt, seed, entrants)",
    )?;
    if let Some(kept) = &args.commitment
        && !kept.eq_ignore_ascii_case(&reveal.commitment)
    {
        anyhow::bail!(
            "the revealed commitment {} is not the one you kept ({kept})",
            reveal.commitment
        );
    }
    proof::verify(&reveal).context("the draw does not verify")?;
    println!(
        "verified: {} entrants in the order seed {} gives; SHA-256(seed) = commitment {} \
         (committed {}, presale closed {})",
        reveal.entrants.len(),
        reveal.seed,
        reveal.commitment,
        reveal.committed_at,
        reveal.closes_at
    );
    if let Some(entrant) = &args.entrant {
        match proof::rank_of(&reveal, entrant) {
            Some(ticket) => println!("entrant {entrant}: ticket {ticket}"),
            None => anyhow::bail!("entrant {entrant} is not in the draw"),
        }
    }
    Ok(())
}

fn sdl(write: Option<&std::path::Path>) -> anyhow::Result<()> {
    let (public, sale) = (schema::public_sdl(), schema::sale_sdl());
    match write {
        Some(dir) => {
            for (file, sdl) in [
                ("schema.public.graphql", &public),
                ("schema.sale.graphql", &sale),
            ] {
                let path = dir.join(file);
                std::fs::write(&path, sdl)
                    .with_context(|| format!("writing {}", path.display()))?;
                println!("wrote {}", path.display());
            }
        }
        None => println!(
            "# public schema (/graphql)\n{public}\n# sale schema (/sale/{{eventId}}/graphql)\n{sale}"
        ),
    }
    Ok(())
}
