//! The built binary, as the scripts run it: its command line names every scenario.
//!
//! Also makes `cargo test --workspace` build the `load-tests` executable with the test
//! build's features, so CI's rush reuses it instead of compiling the dependencies again.

use std::process::Command;

#[test]
fn the_binary_lists_every_scenario_in_its_help() {
    let output = Command::new(env!("CARGO_BIN_EXE_load-tests"))
        .arg("--help")
        .output()
        .expect("the load-tests binary runs");

    assert!(output.status.success(), "{output:?}");
    let help = String::from_utf8_lossy(&output.stdout);
    for scenario in ["queue-rush", "seat-rush", "journey", "browse"] {
        assert!(
            help.contains(scenario),
            "`{scenario}` missing from:\n{help}"
        );
    }
}

#[test]
fn an_unknown_scenario_is_refused_with_a_usage_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_load-tests"))
        .arg("stampede")
        .output()
        .expect("the load-tests binary runs");

    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("stampede"));
}
