//! Notes for the report: what limited the run, measured. CPU of each watched process and
//! of the machine, the generator's own lateness, and the accounts' preparation.

use crate::{
    metrics::Data,
    report::{Percentiles, Report},
};

/// What limited the run, measured: CPU of each watched process and of the machine, the
/// generator's own lateness, and the accounts' preparation.
pub fn notes(report: &Report, setup: &Data) -> Vec<String> {
    let mut notes = Vec::new();
    let cores = std::thread::available_parallelism().map_or(1, usize::from) as f64;
    cpu(&mut notes, report, cores);
    generator(&mut notes, report);
    load_average(&mut notes, cores);
    accounts(&mut notes, setup);
    notes
}

/// Average CPU of each watched process and of the machine, and who ran out of it.
fn cpu(notes: &mut Vec<String>, report: &Report, cores: f64) {
    let mut busiest: Vec<(String, f64, f64)> = report
        .processes
        .iter()
        .filter(|(_, s)| s.len() > 2)
        .map(|(name, samples)| {
            let active = &samples[1..];
            let avg = active.iter().map(|s| s.cpu_pct).sum::<f64>() / active.len() as f64;
            let peak_rss = samples.iter().map(|s| s.rss_mb).fold(0.0, f64::max);
            (name.clone(), avg, peak_rss)
        })
        .collect();
    busiest.sort_by(|a, b| b.1.total_cmp(&a.1));
    if !busiest.is_empty() {
        let list: Vec<String> = busiest
            .iter()
            .map(|(name, cpu, rss)| {
                if name == "machine" {
                    format!("machine {cpu:.0}% of {:.0}%", cores * 100.0)
                } else {
                    format!("{name} {cpu:.0}% ({rss:.0} MB peak)")
                }
            })
            .collect();
        notes.push(format!(
            "Average CPU over the run (100% = one core): {}.",
            list.join(", ")
        ));
        let machine = busiest.iter().find(|(n, _, _)| n == "machine").map(|b| b.1);
        let watched: f64 = busiest
            .iter()
            .filter(|(n, _, _)| n != "machine")
            .map(|b| b.1)
            .sum();
        if let Some(machine) = machine {
            notes.push(format!(
                "CPU used by processes outside the test (the machine minus every watched process): about {:.0}% of one core.",
                (machine - watched).max(0.0)
            ));
        }
        if let Some((_, machine, _)) = busiest.iter().find(|(n, _, _)| n == "machine")
            && *machine > cores * 100.0 * 0.9
        {
            notes.push(format!(
                "The machine's {cores:.0} cores were saturated ({machine:.0}%): numbers are the box's limit, shared by the servers and the load generator."
            ));
        }
        for (name, cpu, _) in &busiest {
            if name != "machine"
                && name != "load-gen"
                && *cpu > 90.0
                && (name.contains("redis") || name.contains("postgres"))
            {
                notes.push(format!(
                    "{name} used about a whole core ({cpu:.0}%): it may be the bottleneck."
                ));
            }
        }
    }
}

/// Whether the load generator itself held the run back.
fn generator(notes: &mut Vec<String>, report: &Report) {
    if let Some(lag) = report.values.get("schedule.lag")
        && lag.p99 > 100.0
    {
        notes.push(format!(
            "The load generator released fans late (schedule lag p99 {:.0} ms): it could not keep the arrival rate.",
            lag.p99
        ));
    }
    if let Some(wait) = report.values.get("client.wait")
        && wait.p99 > 5.0
    {
        notes.push(format!(
            "Requests waited for the generator's in-flight cap (client.wait p99 {:.1} ms): raise --max-in-flight or add --workers.",
            wait.p99
        ));
    }
}

fn load_average(notes: &mut Vec<String>, cores: f64) {
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        notes.push(format!(
            "Load average at the end: {} ({cores:.0} cores).",
            load.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
}

/// The accounts made before the rush: not in the rush's numbers, so said here.
fn accounts(notes: &mut Vec<String>, setup: &Data) {
    if let Some(signup) = setup.ops.get("setup.signup") {
        let l = Percentiles::of(&signup.latency);
        notes.push(format!(
            "Accounts prepared before the rush (not in the numbers above): {} sign-ups, p50 {:.1} ms, p99 {:.1} ms, {} errors.",
            signup.total(),
            l.p50,
            l.p99,
            signup.error_count()
        ));
    }
}
