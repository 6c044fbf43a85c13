//! Reading a `{ file = … }` secret: only a regular file, and only so much
//! of it. A FIFO or a device named by mistake (or by a hostile manifest)
//! would otherwise block `validate` and `plan` forever, or read without end.

use std::fs::{File, FileType, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// Far above any password, key or certificate.
pub const LIMIT: u64 = 1024 * 1024;

pub fn read(path: &Path) -> io::Result<String> {
    // Checked before opening: opening a device can act on it.
    regular(std::fs::metadata(path)?.file_type())?;
    // And after: the path may have been swapped meanwhile. O_NONBLOCK makes
    // opening a FIFO return at once; it changes nothing for a regular file.
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    regular(file.metadata()?.file_type())?;
    read_limited(file)
}

fn read_limited(file: File) -> io::Result<String> {
    let mut bytes = Vec::new();
    file.take(LIMIT + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > LIMIT {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {} KiB, too large for a secret", LIMIT / 1024),
        ));
    }
    String::from_utf8(bytes).map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8"))
}

fn regular(kind: FileType) -> io::Result<()> {
    let what = if kind.is_file() {
        return Ok(());
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_dir() {
        "a directory"
    } else {
        "something else"
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("not a regular file but {what}"),
    ))
}
