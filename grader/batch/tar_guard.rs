//! A reader between the decompressor and the tar reader that follows the
//! tar layout block by block, as the tar reader will, and refuses what
//! would make the tar reader hold an unbounded amount in memory before any
//! entry reaches us: GNU long-name and long-link entries and PAX extension
//! headers over a small size (the tar reader reads each into one `Vec`),
//! endless GNU sparse extension blocks (each adds to a list), and a tar
//! stream far longer than its files may unpack to.
//!
//! The refusal is an [`io::Error`] whose inner error is a [`Refusal`], so
//! that the caller can tell it from a corrupt archive.

use std::fmt;
use std::io::{self, Read};

/// A tar block: headers are one, data is padded to whole blocks.
const BLOCK: usize = 512;

/// Where a GNU sparse extension block says whether another one follows.
const SPARSE_EXTENDED_OFFSET: usize = 504;

/// What the guard lets through.
#[derive(Debug, Clone, Copy)]
pub struct GuardLimits {
    /// The most bytes one long name, long link or PAX header may hold.
    pub extension_bytes: u64,
    /// The most GNU sparse extension blocks one entry may have.
    pub sparse_blocks: usize,
    /// The most bytes of tar stream (headers, data, padding, trailer).
    pub stream_bytes: u64,
}

/// Why the guard stopped the stream: a message for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refusal {}

impl Refusal {
    /// The refusal inside `error`, if the guard made it.
    pub fn of(error: &io::Error) -> Option<&Refusal> {
        error.get_ref()?.downcast_ref::<Refusal>()
    }
}

/// Where in the tar layout the next byte is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Inside a header block (`filled` bytes of it seen).
    Header,
    /// Inside a PAX extension's data, kept to learn the next entry's size,
    /// then `padding` bytes to the block boundary.
    Pax { remaining: u64, padding: u64 },
    /// Inside data (with its padding) that the guard needs not look at.
    Skip { remaining: u64 },
    /// Inside a GNU sparse extension block; `data` follows the last one.
    Sparse { data: u64 },
    /// After the end-of-archive block: only the stream limit applies.
    End,
    /// A refusal was returned; every later read returns it again.
    Refused,
}

/// See the module documentation.
pub struct TarGuard<R> {
    inner: R,
    limits: GuardLimits,
    state: State,
    block: Box<[u8; BLOCK]>,
    filled: usize,
    pax: Vec<u8>,
    /// The size a PAX header gave the entry that follows it, as the tar
    /// reader applies it.
    pax_size: Option<u64>,
    sparse_blocks: usize,
    stream_bytes: u64,
    refusal: Option<Refusal>,
}

impl<R: Read> TarGuard<R> {
    /// Guards the tar stream `inner`.
    pub fn new(inner: R, limits: GuardLimits) -> TarGuard<R> {
        TarGuard {
            inner,
            limits,
            state: State::Header,
            block: Box::new([0; BLOCK]),
            filled: 0,
            pax: Vec::new(),
            pax_size: None,
            sparse_blocks: 0,
            stream_bytes: 0,
            refusal: None,
        }
    }

    /// Follows the layout over `bytes`, which the reader is about to get.
    fn follow(&mut self, mut bytes: &[u8]) -> Result<(), Refusal> {
        self.stream_bytes = self.stream_bytes.saturating_add(bytes.len() as u64);
        if self.stream_bytes > self.limits.stream_bytes {
            return Err(Refusal(format!(
                "its tar stream is longer than {} bytes, far more than its files may unpack to; ask for an ordinary archive",
                self.limits.stream_bytes
            )));
        }
        while !bytes.is_empty() {
            match self.state {
                State::Header | State::Sparse { .. } => {
                    let take = (BLOCK - self.filled).min(bytes.len());
                    self.block[self.filled..self.filled + take].copy_from_slice(&bytes[..take]);
                    self.filled += take;
                    bytes = &bytes[take..];
                    if self.filled == BLOCK {
                        self.filled = 0;
                        self.state = match self.state {
                            State::Sparse { data } => self.sparse_block(data)?,
                            _ => self.header()?,
                        };
                    }
                }
                State::Pax { remaining, padding } => {
                    let take = remaining.min(bytes.len() as u64) as usize;
                    self.pax.extend_from_slice(&bytes[..take]);
                    bytes = &bytes[take..];
                    self.state = if remaining > take as u64 {
                        State::Pax {
                            remaining: remaining - take as u64,
                            padding,
                        }
                    } else {
                        self.pax_size = tar_pax_size(&self.pax);
                        self.pax = Vec::new();
                        skip(padding)
                    };
                }
                State::Skip { remaining } => {
                    let take = remaining.min(bytes.len() as u64);
                    bytes = &bytes[take as usize..];
                    self.state = skip(remaining - take);
                }
                State::End | State::Refused => return Ok(()),
            }
        }
        Ok(())
    }

    /// A whole header block: what follows it, or a refusal.
    fn header(&mut self) -> Result<State, Refusal> {
        use tar::EntryType;
        if self.block.iter().all(|&b| b == 0) {
            // The tar reader stops at the first zero block.
            return Ok(State::End);
        }
        let header = tar::Header::from_byte_slice(&self.block[..]);
        let declared = header.entry_size().map_err(|_| {
            Refusal("a tar header has a size that is not a number; the archive is corrupt".into())
        })?;
        let kind = header.entry_type();
        let extension = matches!(
            kind,
            EntryType::GNULongName
                | EntryType::GNULongLink
                | EntryType::XHeader
                | EntryType::XGlobalHeader
        );
        let recognized = header.as_gnu().is_some() || header.as_ustar().is_some();
        // The tar reader reads these three into memory, whole; it yields
        // every other header as an entry, and streams its data.
        let buffered = recognized
            && matches!(
                kind,
                EntryType::GNULongName | EntryType::GNULongLink | EntryType::XHeader
            );
        if buffered {
            if declared > self.limits.extension_bytes {
                return Err(Refusal(format!(
                    "a tar header announces an extended name or attributes of {declared} bytes, more than the {} allowed; ask for an archive made with an ordinary tool",
                    self.limits.extension_bytes
                )));
            }
            let padding = padding_of(declared);
            return Ok(if kind == EntryType::XHeader {
                self.pax = Vec::with_capacity(declared as usize);
                if declared == 0 {
                    self.pax_size = None;
                    skip(padding)
                } else {
                    State::Pax {
                        remaining: declared,
                        padding,
                    }
                }
            } else {
                skip(declared.saturating_add(padding))
            });
        }
        // A PAX size describes the next entry that is not itself an
        // extension header, and only that one.
        let size = match self.pax_size.take() {
            Some(size) if !extension => size,
            _ => declared,
        };
        let data = size.checked_add(padding_of(size)).ok_or_else(|| {
            Refusal("a tar entry's size overflows; the archive is corrupt".into())
        })?;
        let sparse_extended =
            kind == EntryType::GNUSparse && header.as_gnu().is_some_and(|g| g.is_extended());
        Ok(if sparse_extended {
            self.sparse_blocks = 0;
            State::Sparse { data }
        } else {
            skip(data)
        })
    }

    /// A whole GNU sparse extension block.
    fn sparse_block(&mut self, data: u64) -> Result<State, Refusal> {
        self.sparse_blocks += 1;
        if self.sparse_blocks > self.limits.sparse_blocks {
            return Err(Refusal(format!(
                "a sparse tar entry has more than {} extension blocks; ask for an archive made without --sparse",
                self.limits.sparse_blocks
            )));
        }
        Ok(if self.block[SPARSE_EXTENDED_OFFSET] == 1 {
            State::Sparse { data }
        } else {
            skip(data)
        })
    }
}

/// The state for `remaining` bytes to pass unread, then a header.
fn skip(remaining: u64) -> State {
    if remaining == 0 {
        State::Header
    } else {
        State::Skip { remaining }
    }
}

/// Bytes after `size` to the next block boundary.
fn padding_of(size: u64) -> u64 {
    (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64
}

/// The `size` record of PAX extension data, read as the tar reader reads it.
fn tar_pax_size(data: &[u8]) -> Option<u64> {
    for extension in tar::PaxExtensions::new(data) {
        let extension = extension.ok()?;
        if extension.key() == Ok("size") {
            return extension.value().ok()?.parse().ok();
        }
    }
    None
}

impl<R: Read> Read for TarGuard<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        if let Some(refusal) = &self.refusal {
            return Err(io::Error::new(io::ErrorKind::InvalidData, refusal.clone()));
        }
        let read = self.inner.read(buffer)?;
        match self.follow(&buffer[..read]) {
            Ok(()) => Ok(read),
            Err(refusal) => {
                self.state = State::Refused;
                self.refusal = Some(refusal.clone());
                Err(io::Error::new(io::ErrorKind::InvalidData, refusal))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: GuardLimits = GuardLimits {
        extension_bytes: 1024,
        sparse_blocks: 2,
        stream_bytes: 64 * 1024,
    };

    fn header(kind: tar::EntryType, name: &str, size: u64) -> tar::Header {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_size(size);
        header.set_mode(0o644);
        header.set_cksum();
        header
    }

    fn block_of(data: &[u8]) -> Vec<u8> {
        let mut bytes = data.to_vec();
        bytes.resize(data.len() + padding_of(data.len() as u64) as usize, 0);
        bytes
    }

    /// Reads `tar` through the guard, one odd-sized chunk at a time so
    /// that headers straddle reads, and lists the entries the tar reader saw.
    fn read_through(tar: &[u8]) -> Result<Vec<(String, Vec<u8>)>, io::Error> {
        struct Dribble<'a>(&'a [u8]);
        impl Read for Dribble<'_> {
            fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
                let take = buffer.len().min(self.0.len()).min(97);
                buffer[..take].copy_from_slice(&self.0[..take]);
                self.0 = &self.0[take..];
                Ok(take)
            }
        }
        let mut archive = tar::Archive::new(TarGuard::new(Dribble(tar), LIMITS));
        let mut seen = Vec::new();
        for entry in archive.entries()? {
            let mut entry = entry?;
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let mut data = Vec::new();
            entry.read_to_end(&mut data)?;
            seen.push((name, data));
        }
        Ok(seen)
    }

    fn end() -> Vec<u8> {
        vec![0; 2 * BLOCK]
    }

    #[test]
    fn an_ordinary_archive_passes_unchanged() {
        let mut tar = tar::Builder::new(Vec::new());
        let long = format!("alice/{}/client-1.py", "d".repeat(200));
        let mut header = tar::Header::new_gnu();
        header.set_size(3);
        header.set_mode(0o644);
        tar.append_data(&mut header, &long, &b"one"[..]).unwrap();
        let mut header = tar::Header::new_ustar();
        header.set_size(600);
        header.set_mode(0o644);
        tar.append_data(&mut header, "alice/big", &[7u8; 600][..])
            .unwrap();
        let tar = tar.into_inner().unwrap();
        let seen = read_through(&tar).unwrap();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0], (long, b"one".to_vec()));
        assert_eq!(seen[1].1.len(), 600);
    }

    #[test]
    fn a_pax_size_is_followed_as_the_tar_reader_follows_it() {
        // A PAX record counts its own length digits: "LEN key=value\n".
        let record = |key: &str, value: &str| {
            let body = format!(" {key}={value}\n");
            let mut len = body.len() + 1;
            while len.to_string().len() + body.len() != len {
                len += 1;
            }
            format!("{len}{body}")
        };
        let pax = record("size", "700");
        let mut tar = header(tar::EntryType::XHeader, "pax", pax.len() as u64)
            .as_bytes()
            .to_vec();
        tar.extend(block_of(pax.as_bytes()));
        // The header says 0 bytes; the PAX record says 700.
        tar.extend(header(tar::EntryType::Regular, "a", 0).as_bytes());
        tar.extend(block_of(&[1; 700]));
        tar.extend(header(tar::EntryType::Regular, "b", 2).as_bytes());
        tar.extend(block_of(b"hi"));
        tar.extend(end());
        let seen = read_through(&tar).unwrap();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].1.len(), 700);
        assert_eq!(seen[1], ("b".to_string(), b"hi".to_vec()));
    }

    #[test]
    fn a_long_name_over_the_limit_is_refused_before_it_is_read() {
        for kind in [
            tar::EntryType::GNULongName,
            tar::EntryType::GNULongLink,
            tar::EntryType::XHeader,
        ] {
            // Only the header: the data it announces is never there.
            let tar = header(kind, "././@LongLink", 5 << 30).as_bytes().to_vec();
            let error = read_through(&tar).unwrap_err();
            let refusal = Refusal::of(&error).unwrap_or_else(|| panic!("{kind:?}: {error}"));
            assert!(refusal.0.contains("5368709120 bytes"), "{refusal}");
        }
    }

    #[test]
    fn a_long_name_within_the_limit_is_read() {
        let name = format!("alice/{}", "n".repeat(900));
        let mut data = name.clone().into_bytes();
        data.push(0);
        let mut tar = header(
            tar::EntryType::GNULongName,
            "././@LongLink",
            data.len() as u64,
        )
        .as_bytes()
        .to_vec();
        tar.extend(block_of(&data));
        tar.extend(header(tar::EntryType::Regular, "short", 1).as_bytes());
        tar.extend(block_of(b"x"));
        tar.extend(end());
        let seen = read_through(&tar).unwrap();
        assert_eq!(seen, [(name, b"x".to_vec())]);
    }

    #[test]
    fn endless_sparse_extension_blocks_are_refused() {
        let mut sparse = header(tar::EntryType::GNUSparse, "s", 0);
        sparse.as_gnu_mut().unwrap().set_is_extended(true);
        sparse.set_cksum();
        let mut tar = sparse.as_bytes().to_vec();
        let mut extension = [0u8; BLOCK];
        extension[SPARSE_EXTENDED_OFFSET] = 1;
        for _ in 0..5 {
            tar.extend(extension);
        }
        let error = read_through(&tar).unwrap_err();
        assert!(Refusal::of(&error).is_some(), "{error}");
    }

    #[test]
    fn a_stream_longer_than_the_limit_is_refused() {
        let mut tar = header(tar::EntryType::Symlink, "big", 100 * 1024)
            .as_bytes()
            .to_vec();
        tar.extend(vec![0; 100 * 1024]);
        tar.extend(end());
        let error = read_through(&tar).unwrap_err();
        let refusal = Refusal::of(&error).expect("a refusal");
        assert!(refusal.0.contains("longer than 65536 bytes"), "{refusal}");
    }
}
