//! A map key as raw text.

use super::{custom, Error};
use serde::ser::{self, Impossible, Serialize};

/// A map key as raw text (strings, characters and integers, as serde_json allows).
pub(super) struct KeyText<'s>(pub(super) &'s mut String);

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
