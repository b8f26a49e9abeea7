//! National supervision spot checks: any failed item fails the batch.

use sampling::spot::{SpotCheckPlan, TestItem};

fn plan() -> SpotCheckPlan {
    let items = ["lead", "cadmium", "labelling"]
        .iter()
        .map(|n| TestItem {
            name: n.to_string(),
            standard_clause: "GB 2762-2022 4.1".into(),
        })
        .collect();
    SpotCheckPlan::new(4, 4, items).unwrap()
}

#[test]
fn any_failed_item_fails_the_batch() {
    let p = plan();
    assert_eq!(p.units_sampled(), 8);
    assert!(p.judge(&[0, 0, 0], &[]).unwrap().conforming);
    for i in 0..3 {
        let mut f = [0, 0, 0];
        f[i] = 1;
        let o = p.judge(&f, &[]).unwrap();
        assert!(!o.conforming);
        assert_eq!(o.failed_items, vec![p.items[i].name.clone()]);
    }
    // A granted re-inspection on the reserve units replaces that item's result.
    assert!(p.judge(&[0, 2, 0], &[(1, 0)]).unwrap().conforming);
    assert!(!p.judge(&[0, 2, 0], &[(1, 1)]).unwrap().conforming);
    assert!(
        p.judge(&[0, 0], &[])
            .unwrap_err()
            .to_string()
            .starts_with("failed_units")
    );
    assert!(
        p.judge(&[0, 0, 0], &[(7, 0)])
            .unwrap_err()
            .to_string()
            .starts_with("reinspection.item")
    );
}

#[test]
fn pass_probability_is_the_naive_product() {
    let p = plan();
    let ps = [0.01, 0.002, 0.05];
    let mut naive = 1.0;
    for q in ps {
        for _ in 0..p.test_units {
            naive *= 1.0 - q;
        }
    }
    assert!((p.pass_probability(&ps).unwrap() - naive).abs() < 1e-14);
    assert!(SpotCheckPlan::new(0, 1, vec![]).is_err());
}
