//! The pure CSV parser and the pairs format.

use risk::csv::{parse_pairs, quote, records};

#[test]
fn quoted_fields_commas_quotes_newlines_and_crlf() {
    let text = "a,b,c\r\n\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n\n1,2,3\n";
    let recs: Vec<_> = records(text).map(|r| r.unwrap()).collect();
    assert_eq!(recs.len(), 3);
    assert_eq!(recs[1].1, vec!["x, y", "say \"hi\"", "two\nlines"]);
    assert_eq!(
        recs[2].0, 5,
        "line numbers count the embedded newline and the blank line"
    );
    for f in ["plain", "x, y", "say \"hi\"", "two\nlines"] {
        let line = format!("{}\n", quote(f));
        assert_eq!(
            records(&line).next().unwrap().unwrap().1,
            vec![f.to_string()]
        );
    }
}

#[test]
fn errors_name_the_line_and_the_rule() {
    let e = records("a,b\n\"open,b\n")
        .nth(1)
        .unwrap()
        .unwrap_err()
        .to_string();
    assert!(e.contains("line 2") && e.contains("not closed"), "{e}");
    let e = parse_pairs("product,event,count\np,e,x\n")
        .unwrap_err()
        .to_string();
    assert_eq!(e, "line 2: count: 'x' is not a non-negative integer");
    let e = parse_pairs("product,count\np,1\n").unwrap_err().to_string();
    assert!(e.contains("'event'"), "{e}");
    let e = parse_pairs("product,event,count\np,e\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("2 fields"), "{e}");
}

#[test]
fn pairs_columns_in_any_order() {
    let p = parse_pairs("count,event,product\n3,e1,p1\n").unwrap();
    assert_eq!(
        p,
        vec![("p1".to_string(), "e1".to_string(), String::new(), 3)]
    );
}
