//! The canonical JSON text of a record, written straight from its `Serialize`
//! impl: objects with sorted keys, no null or empty values (empty strings,
//! arrays and objects, after their own empties are dropped), compact.
//!
//! It gives byte for byte the text that `serde_json::to_value` → prune →
//! `serde_json::to_string` gives (the definition, kept as the reference in the
//! tests), without building a `serde_json::Value` tree: one output buffer, one
//! scratch buffer per object for sorting its keys.

use serde::ser::{self, Impossible, Serialize};
use std::ops::Range;

/// Errors of the writer (only a map key that is not text, or a value's own error).
pub type Error = serde_json::Error;

fn custom(message: &str) -> Error {
    <Error as ser::Error>::custom(message)
}

/// Writes the canonical text of `value` to `out`, leaving out the top-level
/// keys in `skip_top`. Returns whether anything was written (`false`: the value
/// is empty and `out` is as it was).
pub fn write<T: Serialize + ?Sized>(
    value: &T,
    skip_top: &'static [&'static str],
    out: &mut String,
) -> Result<bool, Error> {
    value.serialize(Canon {
        out,
        skip: skip_top,
    })
}

/// Appends the JSON string literal of `text` (quotes and escapes). Text
/// with nothing to escape, most of it, is copied as it is.
fn json_str(out: &mut String, text: &str) {
    if text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.reserve(text.len() + 2);
        out.push('"');
        out.push_str(text);
        out.push('"');
        return;
    }
    out.push_str(&serde_json::to_string(text).expect("a string serialises"));
}

/// The `serialize_i8` … `serialize_u64` methods of a serializer, each handing
/// its value to the serializer's own `$method`.
macro_rules! integers {
    ($method:ident) => {
        fn serialize_i8(self, v: i8) -> Result<bool, Error> {
            self.$method(v)
        }
        fn serialize_i16(self, v: i16) -> Result<bool, Error> {
            self.$method(v)
        }
        fn serialize_i32(self, v: i32) -> Result<bool, Error> {
            self.$method(v)
        }
        fn serialize_i64(self, v: i64) -> Result<bool, Error> {
            self.$method(v)
        }
        fn serialize_u8(self, v: u8) -> Result<bool, Error> {
            self.$method(v)
        }
        fn serialize_u16(self, v: u16) -> Result<bool, Error> {
            self.$method(v)
        }
        fn serialize_u32(self, v: u32) -> Result<bool, Error> {
            self.$method(v)
        }
        fn serialize_u64(self, v: u64) -> Result<bool, Error> {
            self.$method(v)
        }
    };
}

/// The serializer of one value into `out`; `Ok(false)` when it is empty.
struct Canon<'o> {
    out: &'o mut String,
    /// Keys to leave out of this object (the top level only).
    skip: &'static [&'static str],
}

impl<'o> Canon<'o> {
    fn number(self, text: impl Serialize) -> Result<bool, Error> {
        self.out.push_str(&serde_json::to_string(&text)?);
        Ok(true)
    }
}

impl<'o> ser::Serializer for Canon<'o> {
    type Ok = bool;
    type Error = Error;
    type SerializeSeq = Seq<'o>;
    type SerializeTuple = Seq<'o>;
    type SerializeTupleStruct = Seq<'o>;
    type SerializeTupleVariant = Impossible<bool, Error>;
    type SerializeMap = Object<'o>;
    type SerializeStruct = Object<'o>;
    type SerializeStructVariant = Impossible<bool, Error>;

    fn serialize_bool(self, v: bool) -> Result<bool, Error> {
        self.out.push_str(if v { "true" } else { "false" });
        Ok(true)
    }
    integers!(number);
    fn serialize_f32(self, v: f32) -> Result<bool, Error> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<bool, Error> {
        // serde_json's value of a non-finite float is null: pruned.
        if v.is_finite() {
            self.number(v)
        } else {
            Ok(false)
        }
    }
    fn serialize_char(self, v: char) -> Result<bool, Error> {
        self.serialize_str(v.encode_utf8(&mut [0u8; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<bool, Error> {
        if v.is_empty() {
            return Ok(false);
        }
        json_str(self.out, v);
        Ok(true)
    }
    fn collect_str<T: std::fmt::Display + ?Sized>(self, value: &T) -> Result<bool, Error> {
        // Formatted into a buffer kept between calls (dates are formatted this way).
        thread_local! {
            static TEXT: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
        }
        TEXT.with_borrow_mut(|text| {
            use std::fmt::Write;
            text.clear();
            write!(text, "{value}").map_err(|_| custom("a value failed to format"))?;
            self.serialize_str(text)
        })
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<bool, Error> {
        use ser::SerializeSeq;
        let mut seq = self.serialize_seq(Some(v.len()))?;
        for b in v {
            seq.serialize_element(b)?;
        }
        seq.end()
    }
    fn serialize_none(self) -> Result<bool, Error> {
        Ok(false)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<bool, Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<bool, Error> {
        Ok(false)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<bool, Error> {
        Ok(false)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<bool, Error> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<bool, Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<bool, Error> {
        use ser::SerializeMap;
        let mut object = self.serialize_map(Some(1))?;
        object.serialize_entry(variant, value)?;
        object.end()
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Seq<'o>, Error> {
        let start = self.out.len();
        self.out.push('[');
        Ok(Seq {
            out: self.out,
            start,
            items: 0,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Seq<'o>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Seq<'o>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(custom("tuple variants have no canonical form"))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Object<'o>, Error> {
        let (scratch, entries) = BUFFERS.with_borrow_mut(Vec::pop).unwrap_or_default();
        Ok(Object {
            out: self.out,
            skip: self.skip,
            scratch,
            entries,
            pending_key: None,
        })
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Object<'o>, Error> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(custom("struct variants have no canonical form"))
    }
}

/// An array being written: items that are empty are taken back.
struct Seq<'o> {
    out: &'o mut String,
    start: usize,
    items: usize,
}

impl Seq<'_> {
    fn item<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let before = self.out.len();
        if self.items > 0 {
            self.out.push(',');
        }
        if value.serialize(Canon {
            out: self.out,
            skip: &[],
        })? {
            self.items += 1;
        } else {
            self.out.truncate(before);
        }
        Ok(())
    }

    fn finish(self) -> Result<bool, Error> {
        if self.items == 0 {
            self.out.truncate(self.start);
            return Ok(false);
        }
        self.out.push(']');
        Ok(true)
    }
}

impl ser::SerializeSeq for Seq<'_> {
    type Ok = bool;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.item(value)
    }
    fn end(self) -> Result<bool, Error> {
        self.finish()
    }
}

impl ser::SerializeTuple for Seq<'_> {
    type Ok = bool;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.item(value)
    }
    fn end(self) -> Result<bool, Error> {
        self.finish()
    }
}

impl ser::SerializeTupleStruct for Seq<'_> {
    type Ok = bool;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.item(value)
    }
    fn end(self) -> Result<bool, Error> {
        self.finish()
    }
}

/// Entry ranges of an object: (raw key, JSON value or `None` when empty).
type Entries = Vec<(Range<usize>, Option<Range<usize>>)>;

thread_local! {
    /// Emptied buffers of finished objects, reused by the next ones (one
    /// record after another, no allocation once warm).
    static BUFFERS: std::cell::RefCell<Vec<(String, Entries)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// An object being written: each entry's raw key and JSON value go to
/// `scratch`; at the end they are sorted by key and written out.
struct Object<'o> {
    out: &'o mut String,
    skip: &'static [&'static str],
    scratch: String,
    /// (raw key, JSON value or `None` when empty) ranges in `scratch`.
    entries: Entries,
    /// The key of `serialize_key`, until its value comes.
    pending_key: Option<Range<usize>>,
}

impl Object<'_> {
    fn key<K: Serialize + ?Sized>(&mut self, key: &K) -> Result<Range<usize>, Error> {
        let start = self.scratch.len();
        key.serialize(KeyText(&mut self.scratch))?;
        Ok(start..self.scratch.len())
    }

    fn value<T: Serialize + ?Sized>(&mut self, key: Range<usize>, value: &T) -> Result<(), Error> {
        let raw = &self.scratch[key.clone()];
        if self.skip.contains(&raw) {
            self.scratch.truncate(key.start);
            return Ok(());
        }
        let start = self.scratch.len();
        let written = value.serialize(Canon {
            out: &mut self.scratch,
            skip: &[],
        })?;
        // An empty value is kept as `None`: as in a map, it replaces an
        // earlier value of the same key (and is then dropped).
        self.entries
            .push((key, written.then_some(start..self.scratch.len())));
        Ok(())
    }

    fn finish(mut self) -> Result<bool, Error> {
        let written = self.write_sorted();
        let mut scratch = std::mem::take(&mut self.scratch);
        let mut entries = std::mem::take(&mut self.entries);
        scratch.clear();
        entries.clear();
        BUFFERS.with_borrow_mut(|pool| {
            // Keep a few, and none grown huge by one odd record.
            if pool.len() < 8 && scratch.capacity() <= 1 << 20 {
                pool.push((scratch, entries));
            }
        });
        written
    }

    fn write_sorted(&mut self) -> Result<bool, Error> {
        let scratch = &self.scratch;
        // Stable: of equal keys, the last one written is the one kept.
        self.entries
            .sort_by(|a, b| scratch[a.0.clone()].cmp(&scratch[b.0.clone()]));
        let start = self.out.len();
        self.out.push('{');
        let mut written = 0usize;
        for (i, (key, value)) in self.entries.iter().enumerate() {
            let superseded = self
                .entries
                .get(i + 1)
                .is_some_and(|(next, _)| scratch[next.clone()] == scratch[key.clone()]);
            let Some(value) = value.as_ref().filter(|_| !superseded) else {
                continue;
            };
            if written > 0 {
                self.out.push(',');
            }
            json_str(self.out, &scratch[key.clone()]);
            self.out.push(':');
            self.out.push_str(&scratch[value.clone()]);
            written += 1;
        }
        if written == 0 {
            self.out.truncate(start);
            return Ok(false);
        }
        self.out.push('}');
        Ok(true)
    }
}

impl ser::SerializeMap for Object<'_> {
    type Ok = bool;
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.pending_key = Some(self.key(key)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let key = self
            .pending_key
            .take()
            .ok_or_else(|| custom("a map value without its key"))?;
        self.value(key, value)
    }
    fn end(self) -> Result<bool, Error> {
        self.finish()
    }
}

impl ser::SerializeStruct for Object<'_> {
    type Ok = bool;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        let key = self.key(key)?;
        self.value(key, value)
    }
    fn end(self) -> Result<bool, Error> {
        self.finish()
    }
}

/// A map key as raw text (strings, characters and integers, as serde_json allows).
struct KeyText<'s>(&'s mut String);

impl KeyText<'_> {
    fn text(self, text: &str) -> Result<bool, Error> {
        self.0.push_str(text);
        Ok(true)
    }
    fn integer_text(self, n: impl std::fmt::Display) -> Result<bool, Error> {
        self.text(&n.to_string())
    }
    fn not_text<T>() -> Result<T, Error> {
        Err(custom("a map key must be text"))
    }
}

impl ser::Serializer for KeyText<'_> {
    type Ok = bool;
    type Error = Error;
    type SerializeSeq = Impossible<bool, Error>;
    type SerializeTuple = Impossible<bool, Error>;
    type SerializeTupleStruct = Impossible<bool, Error>;
    type SerializeTupleVariant = Impossible<bool, Error>;
    type SerializeMap = Impossible<bool, Error>;
    type SerializeStruct = Impossible<bool, Error>;
    type SerializeStructVariant = Impossible<bool, Error>;

    fn serialize_str(self, v: &str) -> Result<bool, Error> {
        self.text(v)
    }
    fn serialize_char(self, v: char) -> Result<bool, Error> {
        self.text(v.encode_utf8(&mut [0u8; 4]))
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<bool, Error> {
        self.text(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<bool, Error> {
        value.serialize(self)
    }
    integers!(integer_text);
    fn serialize_bool(self, _v: bool) -> Result<bool, Error> {
        Self::not_text()
    }
    fn serialize_f32(self, _v: f32) -> Result<bool, Error> {
        Self::not_text()
    }
    fn serialize_f64(self, _v: f64) -> Result<bool, Error> {
        Self::not_text()
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<bool, Error> {
        Self::not_text()
    }
    fn serialize_none(self) -> Result<bool, Error> {
        Self::not_text()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<bool, Error> {
        Self::not_text()
    }
    fn serialize_unit(self) -> Result<bool, Error> {
        Self::not_text()
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<bool, Error> {
        Self::not_text()
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<bool, Error> {
        Self::not_text()
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Self::not_text()
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Self::not_text()
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Self::not_text()
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Self::not_text()
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Self::not_text()
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        Self::not_text()
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Self::not_text()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The definition: a `Value`, pruned, serialised.
    fn reference(value: serde_json::Value) -> String {
        crate::content::SisContent::from_value(value)
            .text()
            .to_string()
    }

    fn canonical(value: &serde_json::Value) -> String {
        let mut out = String::new();
        if !write(value, &["status"], &mut out).unwrap() {
            out.push_str("{}");
        }
        out
    }

    #[test]
    fn sorted_pruned_and_compact_like_the_value_path() {
        for value in [
            json!({"b": "2", "a": "1", "status": "active", "c": null, "d": [], "e": ""}),
            json!({"z": {"y": "", "x": [""]}, "a": ["", "1", null, "2"], "n": 3, "t": true, "f": false}),
            json!({"q\"uote": "a\\b\n\u{1b}", "tab": "a\tb\u{7f}\u{0}", "é": "ü", "E": "upper", "nested": {"b": {"c": 1}, "a": {}}}),
            json!({}),
            json!({"status": "x"}),
            json!({"list": [{"a": ""}, {"b": "1"}], "num": -12, "big": 18446744073709551615u64}),
        ] {
            assert_eq!(canonical(&value), reference(value.clone()), "{value}");
        }
    }

    #[test]
    fn a_later_duplicate_key_wins_as_in_a_map() {
        struct Twice;
        impl Serialize for Twice {
            fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use ser::SerializeMap;
                let mut m = s.serialize_map(None)?;
                m.serialize_entry("a", "1")?;
                m.serialize_entry("a", "2")?;
                m.serialize_entry("b", "1")?;
                m.serialize_entry("b", "")?;
                m.end()
            }
        }
        let mut out = String::new();
        write(&Twice, &[], &mut out).unwrap();
        assert_eq!(out, r#"{"a":"2"}"#);
    }

    #[test]
    fn an_empty_value_writes_nothing() {
        let mut out = "keep".to_string();
        assert!(!write(&json!({"a": ""}), &[], &mut out).unwrap());
        assert_eq!(out, "keep");
    }
}
