//! Interned strings of one walk: every identifier, organisation, location and CBV word is a
//! small integer ([`Sym`]), so that the walk compares and hashes integers and shares one copy of
//! each string however many events and custody steps name it.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Rc;

/// An interned string of one [`Syms`] table.
pub(crate) type Sym = u32;

/// FxHash (the multiply-rotate hash of rustc): fast on short keys; the walk's keys are its own
/// integers and strings of stored events, so hash flooding is not a concern.
#[derive(Default, Clone, Copy)]
pub(crate) struct Fx(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Fx {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(SEED);
    }
}

impl Hasher for Fx {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(b));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// A `HashMap` with [`Fx`].
pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<Fx>>;

/// The string table of one walk.
#[derive(Default)]
pub(crate) struct Syms {
    names: Vec<Rc<str>>,
    index: FxMap<Rc<str>, Sym>,
    /// Identifiers as events write them -> their canonical form's symbol (`gs1::normalize_id`
    /// runs once per spelling).
    ids: FxMap<Box<str>, Sym>,
    /// CBV values as events write them -> the symbol of their bare word.
    cbv: FxMap<Box<str>, Sym>,
    buf: String,
}

impl Syms {
    /// The symbol of `s` as it is.
    pub(crate) fn word(&mut self, s: &str) -> Sym {
        if let Some(&k) = self.index.get(s) {
            return k;
        }
        let k = self.names.len() as Sym;
        let name: Rc<str> = s.into();
        self.names.push(Rc::clone(&name));
        self.index.insert(name, k);
        k
    }

    /// The symbol of the canonical form of identifier `raw` (`gs1::normalize_id`): one lookup
    /// for every spelling seen before.
    pub(crate) fn id(&mut self, raw: &str) -> Sym {
        if let Some(&k) = self.ids.get(raw) {
            return k;
        }
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        gs1::normalize_id_into(raw, &mut buf);
        let k = self.word(&buf);
        self.ids.insert(raw.into(), k);
        self.buf = buf;
        k
    }

    /// The symbol of the bare CBV word of `raw` (`bare_cbv`), once per spelling.
    pub(crate) fn cbv(&mut self, raw: &str) -> Sym {
        if let Some(&k) = self.cbv.get(raw) {
            return k;
        }
        let k = self.word(&crate::event::bare_cbv(raw));
        self.cbv.insert(raw.into(), k);
        k
    }

    pub(crate) fn name(&self, k: Sym) -> &str {
        &self.names[k as usize]
    }
}
