//! The canonical JSON text of a record, written straight from its `Serialize`
//! impl: objects with sorted keys, no null or empty values (empty strings,
//! arrays and objects, after their own empties are dropped), compact.
//!
//! It gives byte for byte the text that `serde_json::to_value` → prune →
//! `serde_json::to_string` gives (the definition, kept as the reference in the
//! tests), without building a `serde_json::Value` tree: one output buffer, one
//! scratch buffer per object for sorting its keys.
//!
//! One module per kind of value written apart: `array`, `object` (its
//! entries sorted), `key` (a map key as text); this one holds the writer of
//! one value.

use serde::ser::{self, Impossible, Serialize};

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

mod array;
mod key;
mod object;

use array::Seq;
use object::Object;

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
        Ok(Seq::open(self.out))
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
        Ok(Object::open(self.out, self.skip))
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
