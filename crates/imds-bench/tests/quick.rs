//! What CI proves by running the suite: `imds-bench --quick` runs every
//! scenario to the end and its correctness checks hold (one PUT per cold
//! burst, none with a cached or given token, a 200 for every read, both
//! walks sending the same reads, clones sharing one token, four GETs per
//! event watch cycle). No timing is judged. It runs the binary itself
//! because the memory scenario spawns it.

use std::process::Command;

#[test]
fn quick_run_passes_its_checks() {
    let output = Command::new(env!("CARGO_BIN_EXE_imds-bench"))
        .arg("--quick")
        .output()
        .expect("imds-bench runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    for section in [
        "## P1 hot path",
        "## P1 own cost",
        "## P2 cold burst",
        "## P4 whole-tree walk",
        "## Memory",
        "## P6 event watcher",
    ] {
        assert!(stdout.contains(section), "no {section:?} in:\n{stdout}");
    }
    assert!(
        stdout.contains("All correctness checks passed."),
        "{stdout}"
    );
}
