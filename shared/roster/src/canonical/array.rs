//! An array: its items written in order, the empty ones taken back.

use super::{Canon, Error};
use serde::ser::{self, Serialize};

/// An array being written: items that are empty are taken back.
pub(super) struct Seq<'o> {
    out: &'o mut String,
    start: usize,
    items: usize,
}

impl<'o> Seq<'o> {
    /// An array opened in `out`.
    pub(super) fn open(out: &'o mut String) -> Seq<'o> {
        let start = out.len();
        out.push('[');
        Seq {
            out,
            start,
            items: 0,
        }
    }

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
