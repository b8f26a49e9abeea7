//! The shared conformance suite of the storage trait, against PostgreSQL (one database per store).

#[test]
fn conformance_suite() {
    if crate::cluster().is_none() {
        return;
    }
    let make = || crate::fresh_store("conf").expect("cluster is up");
    store::conformance::run_all(&make);
}
