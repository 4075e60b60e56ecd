//! API benchmarks: they print numbers, never assert them. Each part builds its own world
//! (fresh database, own Redis prefix, real server on port 0) and measures a baseline in the
//! same run where one exists, so ratios mean something on a shared, noisy machine.
//!
//! `cargo bench -p graphql-api --bench api -- foundation|queue|sale|guard|seatmap|all`
//! Sizes: BENCH_SEED_LARGE (1,000,000 seats), BENCH_QUEUE_FANS (10,000,000 waiting fans),
//! BENCH_SUBSCRIBERS (10,000 idle queue subscribers), BENCH_MAP_FANS and BENCH_MAP_SECS (the
//! seat-map crowd: 32 fans, 5 s a phase).

mod foundation;
mod guard;
mod queue;
mod sale;
mod seatmap;
mod support;

#[tokio::main]
async fn main() {
    let parts: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let all = parts.is_empty() || parts.iter().any(|p| p == "all");
    let wants = |name: &str| all || parts.iter().any(|p| p == name);
    println!(
        "machine: {} cores; {} build; loopback only",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        // `cargo bench` builds release; `--profile dev` (quicker to build) is said so here.
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    if wants("foundation") {
        foundation::foundation().await;
    }
    if wants("queue") {
        queue::queue_bench().await;
    }
    if wants("sale") {
        sale::sale_bench().await;
    }
    if wants("seatmap") {
        seatmap::seatmap_bench().await;
    }
    if wants("guard") {
        guard::guard_bench();
    }
}
