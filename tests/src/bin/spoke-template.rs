//! Writes `spoke.yaml` from `template.yaml` (see `sagetide_tests::spoke`).

use sagetide_tests::{spoke, workspace_root};

fn main() {
    let root = workspace_root();
    let hub = std::fs::read_to_string(root.join("template.yaml")).expect("template.yaml");
    std::fs::write(root.join("spoke.yaml"), spoke::template(&hub)).expect("spoke.yaml written");
}
