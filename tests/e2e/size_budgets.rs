//! Every component's release .wasm within its budget (docs/size-budgets.md).

use crate::harness::repo_root;
use std::collections::BTreeMap;

/// component name -> budget in bytes, from the markdown table.
fn budgets() -> BTreeMap<String, u64> {
    let text = std::fs::read_to_string(repo_root().join("docs/size-budgets.md")).unwrap();
    text.lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            // | op-x | 250 | why |  -> ["", "op-x", "250", "why", ""]
            let name = cells.get(1)?;
            let kb: u64 = cells.get(2)?.parse().ok()?;
            name.starts_with("op-")
                .then(|| (name.to_string(), kb * 1000))
        })
        .collect()
}

/// Components are the crates under components/.
fn components() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(repo_root().join("components"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn every_component_is_within_its_budget() {
    let budgets = budgets();
    assert!(
        budgets.len() >= 11,
        "the table lists every endpoint group and the store"
    );
    let release = repo_root().join("target/wasm32-wasip2/release");
    let mut report = Vec::new();
    for name in components() {
        let budget = *budgets
            .get(&name)
            .unwrap_or_else(|| panic!("{name} has no row in docs/size-budgets.md"));
        let wasm = release.join(format!("{}.wasm", name.replace('-', "_")));
        let size = std::fs::metadata(&wasm)
            .unwrap_or_else(|e| panic!("{}: {e} (run scripts/build)", wasm.display()))
            .len();
        report.push(format!("{name}: {size} bytes (budget {budget})"));
        assert!(
            size <= budget,
            "{name} is {size} bytes, over its budget of {budget} bytes"
        );
    }
    eprintln!("{}", report.join("\n"));
}
