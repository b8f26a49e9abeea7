//! The raw path: hashing an event straight from its JSON text, without building a
//! `serde_json::Value`. A scanner turns the event's bytes into a flat vector of tokens (reused
//! from event to event: no allocation once warm) that borrow the text; the fast walk (module
//! `fast`, generic over [`Json`]) then reads the tokens exactly as it reads a `Value`, so the
//! two write the same pre-hash by construction.
//!
//! The scanner accepts only what `serde_json` reads the same way, and leaves everything else to
//! the parsed paths (returns `None`): text that is not one JSON object (with white space around
//! and inside it as JSON allows), invalid JSON (a number, escape, literal or separator out of the
//! grammar, a raw control character in a string, a lone surrogate escape), an object with a
//! repeated key (`serde_json` keeps the last value at the first key's place), an object with
//! more than [`MAX_MEMBERS`] members, nesting deeper than [`MAX_DEPTH`]. String escapes are
//! decoded into one reused buffer.
//!
//! Numbers stay as written ([`Text::Numeral`]); the leaf writer reads them as `serde_json`
//! does.

use super::Text;
use super::fast::Json;

/// Deepest nesting the scanner reads (the fast walk stops well before: `fast::FAST_DEPTH`).
const MAX_DEPTH: usize = 32;
/// Most members of one object the scanner reads (the repeated-key check is quadratic).
const MAX_MEMBERS: u32 = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Null,
    True,
    False,
    Num,
    Str,
    Arr,
    Obj,
}

/// One JSON value or object key. Containers are followed by their contents (an object's members
/// as key, value, key, value, …).
#[derive(Debug, Clone, Copy)]
struct Tok {
    kind: Kind,
    /// A string whose text is in [`Tokens::unescaped`] (it had escapes), not in the source.
    escaped: bool,
    /// Byte range of the text of a string (without quotes) or a number.
    start: u32,
    len: u32,
    /// A value: the index of the token after it and its contents. An object key: a fingerprint
    /// of the key (for the repeated-key check).
    end: u32,
}

/// The reused buffers of the scanner.
#[derive(Debug, Default)]
pub(super) struct Tokens {
    toks: Vec<Tok>,
    unescaped: String,
    /// The open containers.
    open: Vec<u32>,
}

/// A scanned event: the tokens and the texts they borrow.
pub(super) struct Doc<'n> {
    src: &'n str,
    toks: &'n [Tok],
    unescaped: &'n str,
}

/// One value of a scanned event.
#[derive(Clone, Copy)]
pub(super) struct Raw<'n> {
    doc: &'n Doc<'n>,
    i: u32,
}

/// The members of an object of a scanned event.
#[derive(Clone)]
pub(super) struct Members<'n> {
    doc: &'n Doc<'n>,
    i: u32,
    end: u32,
}

/// The entries of an array of a scanned event.
#[derive(Clone)]
pub(super) struct Items<'n> {
    doc: &'n Doc<'n>,
    i: u32,
    end: u32,
}

/// The text of string token `t`.
#[inline(always)]
fn text_of<'a>(src: &'a str, unescaped: &'a str, t: Tok) -> &'a str {
    let base = if t.escaped { unescaped } else { src };
    &base[t.start as usize..(t.start + t.len) as usize]
}

impl<'n> Doc<'n> {
    #[inline(always)]
    fn str(&self, t: Tok) -> &'n str {
        text_of(self.src, self.unescaped, t)
    }

    /// The event object.
    pub(super) fn root(&self) -> Raw<'_> {
        Raw { doc: self, i: 0 }
    }

    /// The event's `type`, if it is a string.
    pub(super) fn event_type(&self) -> Option<&'n str> {
        let mut i = 1;
        let end = self.toks.first()?.end;
        while i < end {
            let (k, v) = (self.toks[i as usize], self.toks[i as usize + 1]);
            if self.str(k) == "type" {
                return (v.kind == Kind::Str).then(|| self.str(v));
            }
            i = v.end;
        }
        None
    }
}

impl<'n> Iterator for Members<'n> {
    type Item = (&'n str, Raw<'n>);

    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        if self.i >= self.end {
            return None;
        }
        let key = self.doc.toks[self.i as usize];
        let v = self.i + 1;
        self.i = self.doc.toks[v as usize].end;
        Some((
            self.doc.str(key),
            Raw {
                doc: self.doc,
                i: v,
            },
        ))
    }
}

impl<'n> Iterator for Items<'n> {
    type Item = Raw<'n>;

    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        if self.i >= self.end {
            return None;
        }
        let v = self.i;
        self.i = self.doc.toks[v as usize].end;
        Some(Raw {
            doc: self.doc,
            i: v,
        })
    }
}

impl<'n> Raw<'n> {
    #[inline(always)]
    fn tok(self) -> Tok {
        self.doc.toks[self.i as usize]
    }
}

impl<'n> Json<'n> for Raw<'n> {
    type Members = Members<'n>;
    type Items = Items<'n>;

    #[inline(always)]
    fn is_null(self) -> bool {
        self.tok().kind == Kind::Null
    }

    #[inline(always)]
    fn members(self) -> Option<Members<'n>> {
        let t = self.tok();
        (t.kind == Kind::Obj).then_some(Members {
            doc: self.doc,
            i: self.i + 1,
            end: t.end,
        })
    }

    #[inline(always)]
    fn items(self) -> Option<Items<'n>> {
        let t = self.tok();
        (t.kind == Kind::Arr).then_some(Items {
            doc: self.doc,
            i: self.i + 1,
            end: t.end,
        })
    }

    #[inline(always)]
    fn text(self) -> Text<'n> {
        let t = self.tok();
        match t.kind {
            Kind::Str => Text::Str(self.doc.str(t)),
            Kind::Num => Text::Numeral(&self.doc.src[t.start as usize..(t.start + t.len) as usize]),
            Kind::True => Text::Bool(true),
            Kind::False => Text::Bool(false),
            _ => Text::None,
        }
    }
}

/// The position of the first byte at or after `p` that is not JSON white space.
#[inline(always)]
fn ws(b: &[u8], mut p: usize) -> usize {
    while let Some(&c) = b.get(p)
        && matches!(c, b' ' | b'\n' | b'\r' | b'\t')
    {
        p += 1;
    }
    p
}

/// The position of the first `"`, `\` or control byte at or after `i` (`b.len()` if none),
/// eight bytes at a time: the classic "has zero byte" test for `"` and `\`, and its "has byte
/// less than" form for control bytes. In each test only bytes above a real hit can be false
/// hits, so the lowest flagged byte is exact.
#[inline(always)]
fn find_special(b: &[u8], mut i: usize) -> usize {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    while i + 8 <= b.len() {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[i..i + 8]);
        let w = u64::from_le_bytes(w);
        let q = w ^ (LO * u64::from(b'"'));
        let s = w ^ (LO * u64::from(b'\\'));
        let m = ((q.wrapping_sub(LO) & !q)
            | (s.wrapping_sub(LO) & !s)
            | (w.wrapping_sub(LO * 0x20) & !w))
            & HI;
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&c) = b.get(i)
        && !matches!(c, b'"' | b'\\' | 0..=0x1f)
    {
        i += 1;
    }
    i
}

/// The value of four hex digits at `p`.
fn hex4(b: &[u8], p: usize) -> Option<u32> {
    let digits = b.get(p..p + 4)?;
    let mut v = 0;
    for &c in digits {
        v = v * 16 + char::from(c).to_digit(16)?;
    }
    Some(v)
}

/// A fingerprint of an object key: its length and three of its bytes.
#[inline(always)]
fn fingerprint(k: &[u8]) -> u32 {
    let n = k.len();
    if n == 0 {
        return 0;
    }
    (n as u32) << 24 | u32::from(k[0]) << 16 | u32::from(k[n - 1]) << 8 | u32::from(k[n / 2])
}

impl Tokens {
    /// Scan one event object; `None` for anything the parsed paths must read (see the module
    /// documentation).
    pub(super) fn scan<'n>(&'n mut self, src: &'n str) -> Option<Doc<'n>> {
        self.toks.clear();
        self.unescaped.clear();
        self.open.clear();
        if src.len() >= u32::MAX as usize {
            return None;
        }
        let b = src.as_bytes();
        let mut p = ws(b, 0);
        if b.get(p) != Some(&b'{') {
            return None;
        }
        loop {
            // A value at `p`.
            let c = *b.get(p)?;
            match c {
                b'{' | b'[' => {
                    if self.open.len() >= MAX_DEPTH {
                        return None;
                    }
                    let idx = self.toks.len() as u32;
                    let (kind, close) = if c == b'{' {
                        (Kind::Obj, b'}')
                    } else {
                        (Kind::Arr, b']')
                    };
                    self.push(kind, p, 0);
                    self.open.push(idx);
                    p = ws(b, p + 1);
                    if b.get(p) == Some(&close) {
                        p += 1;
                        self.toks[idx as usize].end = idx + 1;
                        self.open.pop();
                    } else {
                        if kind == Kind::Obj {
                            p = self.key(src, p)?;
                        }
                        continue;
                    }
                }
                b'"' => p = self.string(src, p, false)?,
                b't' => p = self.literal(b, p, b"true", Kind::True)?,
                b'f' => p = self.literal(b, p, b"false", Kind::False)?,
                b'n' => p = self.literal(b, p, b"null", Kind::Null)?,
                b'-' | b'0'..=b'9' => p = self.number(src, p)?,
                _ => return None,
            }
            // After a value: separators and the ends of containers.
            loop {
                p = ws(b, p);
                let Some(&top) = self.open.last() else {
                    return (p == b.len()).then_some(Doc {
                        src,
                        toks: &self.toks,
                        unescaped: &self.unescaped,
                    });
                };
                let obj = self.toks[top as usize].kind == Kind::Obj;
                match b.get(p) {
                    Some(b',') => {
                        p = ws(b, p + 1);
                        if obj {
                            p = self.key(src, p)?;
                        }
                        break;
                    }
                    Some(b'}') if obj => {
                        p += 1;
                        self.close_object(src, top)?;
                    }
                    Some(b']') if !obj => {
                        p += 1;
                        self.toks[top as usize].end = self.toks.len() as u32;
                        self.open.pop();
                    }
                    _ => return None,
                }
            }
        }
    }

    #[inline(always)]
    fn push(&mut self, kind: Kind, start: usize, len: usize) {
        let end = self.toks.len() as u32 + 1;
        self.toks.push(Tok {
            kind,
            escaped: false,
            start: start as u32,
            len: len as u32,
            end,
        });
    }

    /// Close the object whose token is `top`; `None` if a key repeats or it has too many.
    fn close_object(&mut self, src: &str, top: u32) -> Option<()> {
        let end = self.toks.len() as u32;
        self.toks[top as usize].end = end;
        self.open.pop();
        let toks = &self.toks;
        let mut members = 0;
        let mut j = top + 1;
        while j < end {
            members += 1;
            if members > MAX_MEMBERS {
                return None;
            }
            let kj = toks[j as usize];
            let mut k = top + 1;
            while k < j {
                let kk = toks[k as usize];
                if kk.end == kj.end
                    && text_of(src, &self.unescaped, kk) == text_of(src, &self.unescaped, kj)
                {
                    return None;
                }
                k = toks[k as usize + 1].end;
            }
            j = toks[j as usize + 1].end;
        }
        Some(())
    }

    /// An object key at `p`, its colon and the white space after: the position of its value.
    #[inline(always)]
    fn key(&mut self, src: &str, p: usize) -> Option<usize> {
        let b = src.as_bytes();
        if b.get(p) != Some(&b'"') {
            return None;
        }
        let p = ws(b, self.string(src, p, true)?);
        if b.get(p) != Some(&b':') {
            return None;
        }
        Some(ws(b, p + 1))
    }

    /// A string at `p` (its opening quote): the position after its closing quote.
    #[inline(always)]
    fn string(&mut self, src: &str, p: usize, key: bool) -> Option<usize> {
        let b = src.as_bytes();
        let start = p + 1;
        let q = find_special(b, start);
        match b.get(q) {
            Some(b'"') => {
                self.push(Kind::Str, start, q - start);
                if key {
                    self.toks.last_mut()?.end = fingerprint(&b[start..q]);
                }
                Some(q + 1)
            }
            Some(b'\\') => self.escaped(src, start, q, key),
            _ => None,
        }
    }

    /// The rest of a string with escapes, from its first `\` at `q`, decoded into
    /// `self.unescaped`.
    fn escaped(&mut self, src: &str, start: usize, mut q: usize, key: bool) -> Option<usize> {
        let b = src.as_bytes();
        let from = self.unescaped.len();
        self.unescaped.push_str(&src[start..q]);
        loop {
            // `b[q]` is `\`.
            let c = *b.get(q + 1)?;
            q += 2;
            let ch = match c {
                b'"' => '"',
                b'\\' => '\\',
                b'/' => '/',
                b'b' => '\u{8}',
                b'f' => '\u{c}',
                b'n' => '\n',
                b'r' => '\r',
                b't' => '\t',
                b'u' => {
                    let u = hex4(b, q)?;
                    q += 4;
                    let code = match u {
                        0xD800..=0xDBFF => {
                            if b.get(q..q + 2) != Some(b"\\u") {
                                return None;
                            }
                            let lo = hex4(b, q + 2)?;
                            if !(0xDC00..=0xDFFF).contains(&lo) {
                                return None;
                            }
                            q += 6;
                            0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00)
                        }
                        0xDC00..=0xDFFF => return None,
                        u => u,
                    };
                    char::from_u32(code)?
                }
                _ => return None,
            };
            self.unescaped.push(ch);
            let r = find_special(b, q);
            self.unescaped.push_str(&src[q..r]);
            q = r;
            match b.get(q) {
                Some(b'"') => break,
                Some(b'\\') => {}
                _ => return None,
            }
        }
        let len = self.unescaped.len() - from;
        let end = if key {
            fingerprint(&self.unescaped.as_bytes()[from..])
        } else {
            self.toks.len() as u32 + 1
        };
        self.toks.push(Tok {
            kind: Kind::Str,
            escaped: true,
            start: u32::try_from(from).ok()?,
            len: u32::try_from(len).ok()?,
            end,
        });
        Some(q + 1)
    }

    fn literal(&mut self, b: &[u8], p: usize, word: &[u8], kind: Kind) -> Option<usize> {
        if b.get(p..p + word.len()) != Some(word) {
            return None;
        }
        self.push(kind, p, word.len());
        Some(p + word.len())
    }

    /// A number at `p` (JSON grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`).
    /// Numbers that `serde_json` cannot read (out of the range of a double) are refused.
    fn number(&mut self, src: &str, p: usize) -> Option<usize> {
        let b = src.as_bytes();
        let digits = |mut q: usize| {
            while b.get(q).is_some_and(u8::is_ascii_digit) {
                q += 1;
            }
            q
        };
        let start = p;
        let mut q = p;
        if b.get(q) == Some(&b'-') {
            q += 1;
        }
        match b.get(q) {
            Some(b'0') => q += 1,
            Some(b'1'..=b'9') => q = digits(q + 1),
            _ => return None,
        }
        if b.get(q) == Some(&b'.') {
            let r = digits(q + 1);
            if r == q + 1 {
                return None;
            }
            q = r;
        }
        if matches!(b.get(q), Some(b'e' | b'E')) {
            q += 1;
            if matches!(b.get(q), Some(b'+' | b'-')) {
                q += 1;
            }
            let r = digits(q);
            if r == q {
                return None;
            }
            q = r;
        }
        // Short integers are exact; anything else is read as `serde_json` reads it (rare).
        if q - start > 16 || b[start..q].iter().any(|c| matches!(c, b'.' | b'e' | b'E')) {
            serde_json::from_str::<serde_json::Number>(&src[start..q]).ok()?;
        }
        self.push(Kind::Num, start, q - start);
        Some(q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scans(s: &str) -> bool {
        Tokens::default().scan(s).is_some()
    }

    /// What the scanner accepts is JSON, and what it refuses is either not JSON or one of the
    /// shapes it leaves to the parsed paths.
    #[test]
    fn the_scanner_accepts_json_objects_and_refuses_the_rest() {
        for ok in [
            "{}",
            " {\"a\" : [ 1 , -2.5e+3 , true , false , null , \"x\\u00e9\\ud83d\\ude00\\n\" ] }\n",
            "{\"a\":{\"b\":{}},\"c\":[],\"d\":0,\"e\":-0.0}",
            "{\"a\\\"b\":\"\\/\"}",
        ] {
            assert!(scans(ok), "{ok}");
            assert!(serde_json::from_str::<serde_json::Value>(ok).is_ok());
        }
        for refused in [
            "",
            "[]",
            "\"x\"",
            "{",
            "{\"a\":1,}",
            "{\"a\":01}",
            "{\"a\":1.}",
            "{\"a\":.5}",
            "{\"a\":1e}",
            "{\"a\":1e400}",
            "{\"a\":-1e400}",
            "{\"a\":tru}",
            "{\"a\":\"x\ty\"}",
            "{\"a\":\"\\x\"}",
            "{\"a\":\"\\ud800\"}",
            "{\"a\":\"\\udc00\"}",
            "{\"a\":1}{}",
            "{\"a\" 1}",
            "{\"a\":[1 2]}",
            "{\"a\":1,\"a\":2}",
            "{\"a\":1,\"\\u0061\":2}",
        ] {
            assert!(!scans(refused), "{refused}");
        }
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(40), "]".repeat(40));
        assert!(!scans(&deep));
    }

    #[test]
    fn strings_are_decoded() {
        let mut t = Tokens::default();
        let doc = t
            .scan("{\"k\\u0065y\":\"a\\\\b\\\"c\\u00e9\\ud83d\\ude00\",\"n\":-12.5e3}")
            .unwrap();
        let members: Vec<_> = doc.root().members().unwrap().collect();
        assert_eq!(members[0].0, "key");
        assert!(matches!(
            members[0].1.text(),
            Text::Str("a\\b\"c\u{e9}\u{1f600}")
        ));
        assert!(matches!(members[1].1.text(), Text::Numeral("-12.5e3")));
    }

    /// Numbers as written give what the parsed number gives.
    #[test]
    fn numbers_as_written_are_written_as_parsed() {
        for n in [
            "0",
            "-0",
            "7",
            "-12",
            "123456789012345",
            "-123456789012345",
            "1234567890123456",
            "9007199254740993",
            "-9007199254740993",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775809",
            "1e3",
            "1E+3",
            "1.5e-7",
            "-2.5E-5",
            "0.1",
            "12.50",
            "1.0",
            "-0.0",
            "123456789.123456789123",
        ] {
            let (mut a, mut b) = (String::new(), String::new());
            super::super::write_number_text(&mut a, n);
            super::super::write_number(&mut b, &serde_json::from_str(n).unwrap());
            assert_eq!(a, b, "{n}");
            assert!(!a.is_empty(), "{n}");
        }
    }

    #[test]
    fn find_special_finds_the_first() {
        let s = b"abcdefgh\"ijklmnop\\q\x01";
        assert_eq!(find_special(s, 0), 8);
        assert_eq!(find_special(s, 9), 17);
        assert_eq!(find_special(s, 18), 19);
        assert_eq!(find_special(b"\xc3\xa9\xff\x80abcdefghij", 0), 14);
        for i in 0..20 {
            let mut v = vec![b'a'; 20];
            v[i] = 0x1f;
            assert_eq!(find_special(&v, 0), i);
        }
    }
}
