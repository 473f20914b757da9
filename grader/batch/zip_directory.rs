//! What a zip's end records declare, read before the zip reader indexes the
//! central directory: the zip reader keeps every entry of it in memory, so
//! an archive declaring millions of tiny entries would cost hundreds of MB
//! before a single entry could be refused.
//!
//! The zip reader looks for its end record among the last 64 KiB and a few
//! bytes of the file and may fall back from one candidate to another, so
//! every candidate there is read, and the largest count any of them
//! declares is the one that counts.

use std::io::{self, Read, Seek, SeekFrom};

/// The end-of-central-directory record's signature, and its fixed size.
const EOCD_SIGNATURE: [u8; 4] = *b"PK\x05\x06";
const EOCD_LEN: usize = 22;
/// The ZIP64 end locator (20 bytes, just before the end record) and the
/// ZIP64 end record it points to.
const ZIP64_LOCATOR_SIGNATURE: [u8; 4] = *b"PK\x06\x07";
const ZIP64_LOCATOR_LEN: usize = 20;
const ZIP64_EOCD_SIGNATURE: [u8; 4] = *b"PK\x06\x06";
const ZIP64_EOCD_LEN: usize = 56;
/// How far from the end the zip reader looks: the record, a signature, and
/// the longest comment.
const SEARCHED_TAIL: u64 = (EOCD_LEN + 4 + (1 << 16)) as u64;

/// The most entries any end record of `file` declares (`None` when it has
/// no end record: the zip reader then refuses it as corrupt).
pub fn declared_entries<F: Read + Seek>(file: &mut F) -> io::Result<Option<u64>> {
    let len = file.seek(SeekFrom::End(0))?;
    let start = len.saturating_sub(SEARCHED_TAIL);
    file.seek(SeekFrom::Start(start))?;
    let mut tail = Vec::new();
    file.by_ref().take(SEARCHED_TAIL).read_to_end(&mut tail)?;
    let mut most: Option<u64> = None;
    for at in (0..tail.len().saturating_sub(EOCD_LEN - 1)).rev() {
        if tail[at..at + 4] != EOCD_SIGNATURE {
            continue;
        }
        let record = &tail[at..at + EOCD_LEN];
        let mut count = u64::from(u16::from_le_bytes([record[10], record[11]]));
        // A ZIP64 archive's real count is in the ZIP64 end record, found
        // through the locator just before this record.
        if let Some(locator) = at
            .checked_sub(ZIP64_LOCATOR_LEN)
            .map(|l| &tail[l..l + ZIP64_LOCATOR_LEN])
            .filter(|l| l[..4] == ZIP64_LOCATOR_SIGNATURE)
        {
            let offset = u64::from_le_bytes(locator[8..16].try_into().unwrap_or_default());
            if let Some(zip64_count) = zip64_entries(file, offset)? {
                count = count.max(zip64_count);
            }
        }
        most = Some(most.map_or(count, |m| m.max(count)));
    }
    Ok(most)
}

/// The entry count of the ZIP64 end record at `offset`, if one is there.
fn zip64_entries<F: Read + Seek>(file: &mut F, offset: u64) -> io::Result<Option<u64>> {
    file.seek(SeekFrom::Start(offset))?;
    let mut record = [0u8; ZIP64_EOCD_LEN];
    match file.read_exact(&mut record) {
        Ok(()) if record[..4] == ZIP64_EOCD_SIGNATURE => Ok(Some(u64::from_le_bytes(
            record[32..40].try_into().unwrap_or_default(),
        ))),
        Ok(()) => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Write};

    fn zip_of(entries: usize, comment: &str) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for index in 0..entries {
            zip.start_file(
                format!("f{index}"),
                zip::write::SimpleFileOptions::default(),
            )
            .unwrap();
            zip.write_all(b"x").unwrap();
        }
        zip.set_comment(comment).unwrap();
        zip.finish().unwrap().into_inner()
    }

    #[test]
    fn the_count_of_an_ordinary_zip_is_read() {
        let bytes = zip_of(3, "");
        assert_eq!(declared_entries(&mut Cursor::new(bytes)).unwrap(), Some(3));
    }

    #[test]
    fn a_comment_before_the_end_does_not_hide_the_count() {
        let bytes = zip_of(5, &"c".repeat(60_000));
        assert_eq!(declared_entries(&mut Cursor::new(bytes)).unwrap(), Some(5));
    }

    #[test]
    fn the_largest_of_several_end_records_counts() {
        let mut bytes = zip_of(2, "");
        // A second, forged end record after the real one, declaring more.
        let mut forged = bytes[bytes.len() - EOCD_LEN..].to_vec();
        forged[10..12].copy_from_slice(&60_000u16.to_le_bytes());
        bytes.extend(forged);
        assert_eq!(
            declared_entries(&mut Cursor::new(bytes)).unwrap(),
            Some(60_000)
        );
    }

    #[test]
    fn a_file_without_an_end_record_declares_nothing() {
        let bytes = b"not a zip at all".to_vec();
        assert_eq!(declared_entries(&mut Cursor::new(bytes)).unwrap(), None);
    }
}
