//! Office documents (stub until the office reader lands).
#![allow(missing_docs)]
use std::io::{Read, Seek};

use super::{ReadSeek, Sink};

#[derive(Debug, Clone, Copy)]
pub(crate) enum OfficeKind {}

pub(crate) fn office_kind<R: Read + Seek>(_zip: &mut zip::ZipArchive<R>) -> Option<OfficeKind> {
    None
}

pub(crate) fn read_office(
    kind: OfficeKind,
    _src: &mut dyn ReadSeek,
    _len: u64,
    _sink: &mut dyn Sink,
) -> Result<(), String> {
    match kind {}
}
