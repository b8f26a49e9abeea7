//! A small pure CSV parser (RFC 4180): comma-separated fields, fields optionally in double quotes,
//! `""` for a quote inside a quoted field, line breaks inside quoted fields, CRLF or LF line ends.
//! A limit on fields per record and bytes per field.

use crate::RiskError;
use crate::limits::{MAX_CSV_FIELD_BYTES, MAX_CSV_FIELDS};

/// Iterates over the records of a CSV text. Each item is the record's 1-based starting line and
/// its fields. Blank lines are skipped.
pub struct Records<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
}

/// Records of `text`.
pub fn records(text: &str) -> Records<'_> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    Records {
        text,
        pos: 0,
        line: 1,
    }
}

impl Iterator for Records<'_> {
    type Item = Result<(usize, Vec<String>), RiskError>;

    fn next(&mut self) -> Option<Self::Item> {
        let bytes = self.text.as_bytes();
        // Skip blank lines.
        loop {
            if self.pos >= bytes.len() {
                return None;
            }
            match bytes[self.pos] {
                b'\n' => {
                    self.pos += 1;
                    self.line += 1;
                }
                b'\r' if bytes.get(self.pos + 1) == Some(&b'\n') => {
                    self.pos += 2;
                    self.line += 1;
                }
                _ => break,
            }
        }
        let start_line = self.line;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut in_quotes = false;
        let err = |line: usize, rule: &str| {
            Some(Err(RiskError::Csv {
                line,
                rule: rule.to_string(),
            }))
        };
        loop {
            if self.pos >= bytes.len() {
                if in_quotes {
                    return err(
                        start_line,
                        "quoted field not closed before the end of the input",
                    );
                }
                fields.push(std::mem::take(&mut field));
                break;
            }
            // Work on chars to keep UTF-8 intact.
            let ch = self.text[self.pos..].chars().next().expect("in bounds");
            let len = ch.len_utf8();
            if in_quotes {
                if ch == '"' {
                    if bytes.get(self.pos + 1) == Some(&b'"') {
                        field.push('"');
                        self.pos += 2;
                    } else {
                        in_quotes = false;
                        self.pos += 1;
                    }
                } else {
                    if ch == '\n' {
                        self.line += 1;
                    }
                    field.push(ch);
                    self.pos += len;
                }
            } else {
                match ch {
                    '"' if field.is_empty() && !quoted => {
                        quoted = true;
                        in_quotes = true;
                        self.pos += 1;
                    }
                    '"' => {
                        return err(
                            self.line,
                            "a quote inside an unquoted field (quote the whole field and double the quote)",
                        );
                    }
                    ',' => {
                        fields.push(std::mem::take(&mut field));
                        quoted = false;
                        self.pos += 1;
                    }
                    '\r' if bytes.get(self.pos + 1) == Some(&b'\n') => {
                        fields.push(std::mem::take(&mut field));
                        self.pos += 2;
                        self.line += 1;
                        break;
                    }
                    '\n' => {
                        fields.push(std::mem::take(&mut field));
                        self.pos += 1;
                        self.line += 1;
                        break;
                    }
                    _ => {
                        if quoted {
                            return err(self.line, "text after the closing quote of a field");
                        }
                        field.push(ch);
                        self.pos += len;
                    }
                }
            }
            if field.len() > MAX_CSV_FIELD_BYTES {
                return err(
                    start_line,
                    &format!("a field longer than {MAX_CSV_FIELD_BYTES} bytes"),
                );
            }
            if fields.len() > MAX_CSV_FIELDS {
                return err(start_line, &format!("more than {MAX_CSV_FIELDS} fields"));
            }
        }
        Some(Ok((start_line, fields)))
    }
}

/// Quotes a field for output if it needs it.
pub fn quote(field: &str) -> std::borrow::Cow<'_, str> {
    if field.contains([',', '"', '\n', '\r']) || field.starts_with(' ') || field.ends_with(' ') {
        std::borrow::Cow::Owned(format!("\"{}\"", field.replace('"', "\"\"")))
    } else {
        std::borrow::Cow::Borrowed(field)
    }
}

/// Parses a `product,event,count` pairs file (header required, columns in any order, extra
/// columns ignored, an optional `stratum` column). Returns `(product, event, stratum, count)`.
pub fn parse_pairs(text: &str) -> Result<Vec<(String, String, String, u64)>, RiskError> {
    let mut it = records(text);
    let (_, header) = match it.next() {
        Some(r) => r?,
        None => {
            return Err(RiskError::Csv {
                line: 1,
                rule: "empty input: a header 'product,event,count' is required".into(),
            });
        }
    };
    let find = |name: &str| {
        header
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let missing = |name: &str| RiskError::Csv {
        line: 1,
        rule: format!("header has no '{name}' column (need product,event,count)"),
    };
    let ip = find("product").ok_or_else(|| missing("product"))?;
    let ie = find("event").ok_or_else(|| missing("event"))?;
    let ic = find("count").ok_or_else(|| missing("count"))?;
    let is = find("stratum");
    let mut out = Vec::new();
    for rec in it {
        let (line, f) = rec?;
        if f.len() != header.len() {
            return Err(RiskError::Csv {
                line,
                rule: format!("{} fields, the header has {}", f.len(), header.len()),
            });
        }
        let product = f[ip].trim();
        let event = f[ie].trim();
        if product.is_empty() {
            return Err(RiskError::Csv {
                line,
                rule: "product: must not be empty".into(),
            });
        }
        if event.is_empty() {
            return Err(RiskError::Csv {
                line,
                rule: "event: must not be empty".into(),
            });
        }
        let count: u64 = f[ic].trim().parse().map_err(|_| RiskError::Csv {
            line,
            rule: format!("count: '{}' is not a non-negative integer", f[ic].trim()),
        })?;
        let stratum = is.map(|i| f[i].trim().to_string()).unwrap_or_default();
        out.push((product.to_string(), event.to_string(), stratum, count));
    }
    Ok(out)
}
