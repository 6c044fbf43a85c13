//! PostgreSQL's binary COPY format, written by hand.
//!
//! Binary COPY is the cheapest way into PostgreSQL: no text parsing on the
//! server, no escaping here. Each column type we create (see
//! `vector::ColumnType`) has its binary "send" representation below; the
//! geometry is PostGIS's EWKB (its binary input accepts it and checks the
//! SRID against the column's typmod). Rows are appended to a buffer that
//! the reader thread hands over to the COPY writer whenever it is full.

/// The file header: signature, flags (no OIDs), no header extension.
pub const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// The file trailer: a field count of -1.
pub const TRAILER: &[u8] = &[0xff, 0xff];

/// Days from 1970-01-01 (Unix) to 2000-01-01 (PostgreSQL's epoch).
const PG_EPOCH_DAYS: i64 = 10_957;

/// A binary COPY stream being built, one row at a time.
#[derive(Default)]
pub struct RowWriter {
    pub buf: Vec<u8>,
}

impl RowWriter {
    pub fn with_capacity(capacity: usize) -> Self {
        RowWriter {
            buf: Vec::with_capacity(capacity),
        }
    }

    /// Starts a row of `fields` columns.
    pub fn row(&mut self, fields: u16) {
        self.buf.extend_from_slice(&(fields as i16).to_be_bytes());
    }

    pub fn null(&mut self) {
        self.buf.extend_from_slice(&(-1i32).to_be_bytes());
    }

    fn len_prefix(&mut self, len: usize) {
        self.buf.extend_from_slice(&(len as i32).to_be_bytes());
    }

    pub fn bool(&mut self, value: bool) {
        self.len_prefix(1);
        self.buf.push(value as u8);
    }

    pub fn i16(&mut self, value: i16) {
        self.len_prefix(2);
        self.buf.extend_from_slice(&value.to_be_bytes());
    }

    pub fn i32(&mut self, value: i32) {
        self.len_prefix(4);
        self.buf.extend_from_slice(&value.to_be_bytes());
    }

    pub fn i64(&mut self, value: i64) {
        self.len_prefix(8);
        self.buf.extend_from_slice(&value.to_be_bytes());
    }

    pub fn f64(&mut self, value: f64) {
        self.len_prefix(8);
        self.buf.extend_from_slice(&value.to_bits().to_be_bytes());
    }

    /// text, varchar: the UTF-8 bytes (the caller guarantees UTF-8).
    pub fn text(&mut self, value: &str) {
        self.bytes(value.as_bytes());
    }

    /// bytea: the raw bytes.
    pub fn bytes(&mut self, value: &[u8]) {
        self.len_prefix(value.len());
        self.buf.extend_from_slice(value);
    }

    /// jsonb: a version byte (1) then the JSON text.
    pub fn jsonb(&mut self, json: &str) {
        self.len_prefix(json.len() + 1);
        self.buf.push(1);
        self.buf.extend_from_slice(json.as_bytes());
    }

    /// date: days since 2000-01-01.
    pub fn date(&mut self, year: i32, month: u32, day: u32) -> bool {
        let Some(date) = chrono::NaiveDate::from_ymd_opt(year, month, day) else {
            return false;
        };
        let days = date
            .signed_duration_since(chrono::NaiveDate::default())
            .num_days();
        self.i32((days - PG_EPOCH_DAYS) as i32);
        true
    }

    /// time: microseconds since midnight.
    pub fn time(&mut self, hour: u32, minute: u32, second: f64) {
        let micros =
            (hour as i64 * 3600 + minute as i64 * 60) * 1_000_000 + (second * 1_000_000.0).round() as i64;
        self.i64(micros);
    }

    /// timestamp / timestamptz: microseconds since 2000-01-01 00:00 UTC.
    pub fn timestamp(&mut self, unix_micros: i64) {
        self.i64(unix_micros - PG_EPOCH_DAYS * 86_400 * 1_000_000);
    }

    /// geometry: ISO WKB from GDAL turned into EWKB carrying `srid`.
    ///
    /// Only the outer header changes: PostGIS reads ISO type codes in
    /// nested geometries, but takes the SRID only from the outer EWKB flag.
    pub fn ewkb(&mut self, iso_wkb: &[u8], srid: u32) -> Result<(), String> {
        if iso_wkb.len() < 5 {
            return Err("a geometry's WKB is truncated".to_string());
        }
        let little = iso_wkb[0] == 1;
        let raw: [u8; 4] = iso_wkb[1..5].try_into().expect("4 bytes");
        let code = if little {
            u32::from_le_bytes(raw)
        } else {
            u32::from_be_bytes(raw)
        };
        let ewkb_type = iso_to_ewkb_type(code)? | 0x2000_0000;
        self.len_prefix(iso_wkb.len() + 4);
        self.buf.push(iso_wkb[0]);
        if little {
            self.buf.extend_from_slice(&ewkb_type.to_le_bytes());
            self.buf.extend_from_slice(&srid.to_le_bytes());
        } else {
            self.buf.extend_from_slice(&ewkb_type.to_be_bytes());
            self.buf.extend_from_slice(&srid.to_be_bytes());
        }
        self.buf.extend_from_slice(&iso_wkb[5..]);
        Ok(())
    }
}

/// ISO WKB type code (base + 1000 Z, 2000 M, 3000 ZM) -> EWKB type flags.
fn iso_to_ewkb_type(code: u32) -> Result<u32, String> {
    let base = code % 1000;
    let (z, m) = match code / 1000 {
        0 => (false, false),
        1 => (true, false),
        2 => (false, true),
        3 => (true, true),
        _ => return Err(format!("unsupported WKB geometry type code {code}")),
    };
    if base == 0 || base > 17 {
        return Err(format!("unsupported WKB geometry type code {code}"));
    }
    Ok(base | if z { 0x8000_0000 } else { 0 } | if m { 0x4000_0000 } else { 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_pgcopy_signature_with_no_flags_and_no_extension() {
        assert_eq!(HEADER.len(), 11 + 4 + 4);
        assert_eq!(&HEADER[..11], b"PGCOPY\n\xff\r\n\0");
    }

    #[test]
    fn ewkb_inserts_srid_after_the_type_and_sets_the_flag() {
        // POINT(1 2), little endian ISO WKB.
        let mut wkb = vec![1, 1, 0, 0, 0];
        wkb.extend_from_slice(&1f64.to_le_bytes());
        wkb.extend_from_slice(&2f64.to_le_bytes());
        let mut w = RowWriter::default();
        w.ewkb(&wkb, 2154).unwrap();
        assert_eq!(&w.buf[..4], &(wkb.len() as i32 + 4).to_be_bytes());
        assert_eq!(w.buf[4], 1);
        assert_eq!(&w.buf[5..9], &0x2000_0001u32.to_le_bytes());
        assert_eq!(&w.buf[9..13], &2154u32.to_le_bytes());
        assert_eq!(&w.buf[13..], &wkb[5..]);
    }

    #[test]
    fn iso_z_and_m_codes_become_ewkb_flags() {
        assert_eq!(iso_to_ewkb_type(1006).unwrap(), 6 | 0x8000_0000);
        assert_eq!(iso_to_ewkb_type(2005).unwrap(), 5 | 0x4000_0000);
        assert_eq!(iso_to_ewkb_type(3001).unwrap(), 1 | 0xC000_0000);
        assert!(iso_to_ewkb_type(0).is_err());
        assert!(iso_to_ewkb_type(4001).is_err());
    }

    #[test]
    fn dates_and_timestamps_count_from_2000() {
        let mut w = RowWriter::default();
        assert!(w.date(2000, 1, 2));
        assert_eq!(&w.buf[4..], &1i32.to_be_bytes());
        assert!(!w.date(2021, 2, 30));
        let mut w = RowWriter::default();
        w.timestamp(946_684_800_000_000);
        assert_eq!(&w.buf[4..], &0i64.to_be_bytes());
    }

    #[test]
    fn truncated_wkb_is_an_error_not_a_panic() {
        let mut w = RowWriter::default();
        assert!(w.ewkb(&[1, 2], 4326).is_err());
    }
}
