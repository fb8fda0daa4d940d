//! Reading back request bodies this crate encoded: the chunks of a v0.4 body, as byte ranges to
//! be batched again as they are, and the spans of a v0.5 body, to be encoded again.
//!
//! The writer needs this only when the agent refuses a payload that was already sealed, so
//! that its bytes are all that is left of its spans: a v0.5 endpoint that disappears after it
//! was used (an agent replaced by an older one), or a payload larger than the agent takes (a
//! limit lowered, a proxy in front of the agent). Malformed input is an error, never a panic,
//! and nesting is bounded.

use std::ops::Range;

use crate::span_data::{SpanData, Str, TagMap, TraceId};

/// Containers nest at most this deep (a v0.4 span event's array attribute is five levels down).
const MAX_DEPTH: usize = 32;

/// The fewest bytes a v0.5 span takes (an array header and twelve one-byte fields).
const V05_MIN_SPAN_BYTES: usize = 13;

/// A body that is not what this crate encodes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed {version} payload: {what} at byte {at}")]
pub(crate) struct Malformed {
    version: &'static str,
    what: &'static str,
    at: usize,
}

/// The chunks of a v0.4 body: the byte range of each (a msgpack array of span maps) and its
/// span count.
pub(crate) fn v04_chunks(body: &[u8]) -> Result<Vec<(Range<usize>, u64)>, Malformed> {
    let mut r = Reader::new(body, "v0.4");
    let n = r.array_len()?;
    let mut chunks = Vec::with_capacity(r.at_most(n, 1));
    for _ in 0..n {
        let start = r.pos;
        let spans = r.array_len()?;
        for _ in 0..spans {
            r.skip(1)?;
        }
        chunks.push((start..r.pos, spans as u64));
    }
    r.end()?;
    Ok(chunks)
}

/// The chunks of a v0.5 body as spans (strings owned). Links and events stay the JSON meta
/// tags v0.5 carries them in.
pub(crate) fn v05_chunks(body: &[u8]) -> Result<Vec<Vec<SpanData>>, Malformed> {
    let mut r = Reader::new(body, "v0.5");
    if r.array_len()? != 2 {
        return Err(r.err("a body that is not [strings, chunks]"));
    }
    let n = r.array_len()?;
    let mut strings = Vec::with_capacity(r.at_most(n, 1));
    for _ in 0..n {
        strings.push(r.str()?);
    }
    let n = r.array_len()?;
    let mut chunks = Vec::with_capacity(r.at_most(n, 1));
    for _ in 0..n {
        let len = r.array_len()?;
        let mut spans = Vec::with_capacity(r.at_most(len, V05_MIN_SPAN_BYTES));
        for _ in 0..len {
            spans.push(r.v05_span(&strings)?);
        }
        chunks.push(spans);
    }
    r.end()?;
    Ok(chunks)
}

/// A checked msgpack reader over a slice.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    version: &'static str,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8], version: &'static str) -> Self {
        Reader {
            buf,
            pos: 0,
            version,
        }
    }

    /// `n` items, or fewer if the bytes left cannot hold that many items of at least
    /// `min_bytes` each: what to reserve for a count read from the input.
    fn at_most(&self, n: usize, min_bytes: usize) -> usize {
        n.min((self.buf.len() - self.pos) / min_bytes)
    }

    fn err(&self, what: &'static str) -> Malformed {
        Malformed {
            version: self.version,
            what,
            at: self.pos,
        }
    }

    fn end(&self) -> Result<(), Malformed> {
        if self.pos == self.buf.len() {
            Ok(())
        } else {
            Err(self.err("trailing bytes"))
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let Some(end) = end else {
            return Err(self.err("a value cut short"));
        };
        let bytes = &self.buf[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn byte(&mut self) -> Result<u8, Malformed> {
        Ok(self.take(1)?[0])
    }

    /// A big-endian unsigned integer of `n` (at most 8) bytes.
    fn be(&mut self, n: usize) -> Result<u64, Malformed> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    /// A length of `n` bytes.
    fn len(&mut self, n: usize) -> Result<usize, Malformed> {
        let len = self.be(n)?;
        usize::try_from(len).map_err(|_| self.err("a length over the address space"))
    }

    fn array_len(&mut self) -> Result<usize, Malformed> {
        match self.byte()? {
            m @ 0x90..=0x9f => Ok(usize::from(m & 0x0f)),
            0xdc => self.len(2),
            0xdd => self.len(4),
            _ => Err(self.err("not an array")),
        }
    }

    fn map_len(&mut self) -> Result<usize, Malformed> {
        match self.byte()? {
            m @ 0x80..=0x8f => Ok(usize::from(m & 0x0f)),
            0xde => self.len(2),
            0xdf => self.len(4),
            _ => Err(self.err("not a map")),
        }
    }

    /// Any integer, as `i128` (wide enough for every msgpack integer).
    fn int(&mut self) -> Result<i128, Malformed> {
        let signed = |v: u64, bits: u32| {
            let shift = 64 - bits;
            i128::from(((v << shift) as i64) >> shift)
        };
        Ok(match self.byte()? {
            m @ 0x00..=0x7f => i128::from(m),
            m @ 0xe0..=0xff => i128::from(m as i8),
            0xcc => i128::from(self.be(1)?),
            0xcd => i128::from(self.be(2)?),
            0xce => i128::from(self.be(4)?),
            0xcf => i128::from(self.be(8)?),
            0xd0 => signed(self.be(1)?, 8),
            0xd1 => signed(self.be(2)?, 16),
            0xd2 => signed(self.be(4)?, 32),
            0xd3 => signed(self.be(8)?, 64),
            _ => return Err(self.err("not an integer")),
        })
    }

    fn uint(&mut self) -> Result<u64, Malformed> {
        let v = self.int()?;
        u64::try_from(v).map_err(|_| self.err("an integer out of range"))
    }

    fn sint(&mut self) -> Result<i64, Malformed> {
        let v = self.int()?;
        i64::try_from(v).map_err(|_| self.err("an integer out of range"))
    }

    fn f64(&mut self) -> Result<f64, Malformed> {
        match self.buf.get(self.pos) {
            Some(0xcb) => {
                self.pos += 1;
                Ok(f64::from_bits(self.be(8)?))
            }
            Some(0xca) => {
                self.pos += 1;
                Ok(f64::from(f32::from_bits(self.be(4)? as u32)))
            }
            _ => Ok(self.int()? as f64),
        }
    }

    fn str(&mut self) -> Result<&'a str, Malformed> {
        let len = match self.byte()? {
            m @ 0xa0..=0xbf => usize::from(m & 0x1f),
            0xd9 => self.len(1)?,
            0xda => self.len(2)?,
            0xdb => self.len(4)?,
            _ => return Err(self.err("not a string")),
        };
        let at = self.pos;
        std::str::from_utf8(self.take(len)?).map_err(|_| Malformed {
            version: self.version,
            what: "a string that is not UTF-8",
            at,
        })
    }

    /// Skips one value, itself at nesting level `depth`.
    fn skip(&mut self, depth: usize) -> Result<(), Malformed> {
        if depth > MAX_DEPTH {
            return Err(self.err("values nested too deep"));
        }
        let marker = self.byte()?;
        let (items, bytes) = match marker {
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => (0, 0),
            0x80..=0x8f => (2 * usize::from(marker & 0x0f), 0),
            0x90..=0x9f => (usize::from(marker & 0x0f), 0),
            0xa0..=0xbf => (0, usize::from(marker & 0x1f)),
            0xcc | 0xd0 => (0, 1),
            0xcd | 0xd1 => (0, 2),
            0xce | 0xd2 | 0xca => (0, 4),
            0xcf | 0xd3 | 0xcb => (0, 8),
            0xd9 | 0xc4 => (0, self.len(1)?),
            0xda | 0xc5 => (0, self.len(2)?),
            0xdb | 0xc6 => (0, self.len(4)?),
            0xdc => (self.len(2)?, 0),
            0xdd => (self.len(4)?, 0),
            0xde => (self.len(2)?.saturating_mul(2), 0),
            0xdf => (self.len(4)?.saturating_mul(2), 0),
            // fixext 1, 2, 4, 8, 16: a type byte and the data.
            0xd4 => (0, 2),
            0xd5 => (0, 3),
            0xd6 => (0, 5),
            0xd7 => (0, 9),
            0xd8 => (0, 17),
            // ext 8, 16, 32: a length, a type byte and the data.
            0xc7 => (0, self.len(1)?.saturating_add(1)),
            0xc8 => (0, self.len(2)?.saturating_add(1)),
            0xc9 => (0, self.len(4)?.saturating_add(1)),
            _ => return Err(self.err("an unknown msgpack marker")),
        };
        self.take(bytes)?;
        // Every item takes at least a byte: a count larger than the input fails when the
        // input runs out, after at most as many steps as there are bytes.
        for _ in 0..items {
            self.skip(depth + 1)?;
        }
        Ok(())
    }

    /// The string at `index` of the v0.5 table, owned (`""` borrowed).
    fn table_str(&mut self, strings: &[&str]) -> Result<Str, Malformed> {
        let i = self.uint()?;
        let s = usize::try_from(i)
            .ok()
            .and_then(|i| strings.get(i))
            .ok_or_else(|| self.err("a string index out of the table"))?;
        Ok(if s.is_empty() {
            Str::Borrowed("")
        } else {
            Str::Owned((*s).to_owned())
        })
    }

    /// One v0.5 span: `[service, name, resource, trace_id, span_id, parent_id, start,
    /// duration, error, meta, metrics, type]`.
    fn v05_span(&mut self, strings: &[&str]) -> Result<SpanData, Malformed> {
        if self.array_len()? != 12 {
            return Err(self.err("a span that is not a 12-element array"));
        }
        let service = self.table_str(strings)?;
        let name = self.table_str(strings)?;
        let resource = self.table_str(strings)?;
        let trace_id = TraceId(u128::from(self.uint()?));
        let span_id = self.uint()?;
        let parent_id = self.uint()?;
        let start = self.sint()?;
        let duration = self.sint()?;
        let error = self.uint()? != 0;
        let mut meta = TagMap::new();
        for _ in 0..self.map_len()? {
            let key = self.table_str(strings)?;
            let value = self.table_str(strings)?;
            meta.insert(key, value);
        }
        let mut metrics = TagMap::new();
        for _ in 0..self.map_len()? {
            let key = self.table_str(strings)?;
            let value = self.f64()?;
            metrics.insert(key, value);
        }
        let span_type = self.table_str(strings)?;
        Ok(SpanData {
            trace_id,
            span_id,
            parent_id,
            name,
            service,
            resource,
            span_type,
            start,
            duration,
            error,
            meta,
            metrics,
            links: Vec::new(),
            events: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::{ApiVersion, EncodeOptions, PayloadEncoder};
    use crate::span_data::{SpanEvent, SpanLink};

    fn span(trace: u64, id: u64, parent: u64) -> SpanData {
        let mut s = SpanData {
            trace_id: TraceId::from_parts(0x6560_0000_0000_0000, trace),
            span_id: id,
            parent_id: parent,
            name: "db.query".into(),
            service: "svc".into(),
            resource: Str::Owned(format!("SELECT {id}")),
            span_type: if parent == 0 { "web".into() } else { "".into() },
            start: 1_700_000_000_000_000_000 + id as i64,
            duration: -5 + id as i64 * 1000,
            error: id.is_multiple_of(2),
            ..SpanData::default()
        };
        s.meta.insert("env", Str::Borrowed("prod"));
        s.meta
            .insert("_dd.p.tid", Str::Borrowed("6560000000000000"));
        s.metrics.insert("_sampling_priority_v1", 1.0);
        s.metrics.insert("big", 1e300);
        s.metrics.insert("neg", -2.5);
        s
    }

    fn chunks() -> Vec<Vec<SpanData>> {
        vec![
            vec![span(1, 10, 0), span(1, 11, 10), span(1, 12, 11)],
            vec![span(u64::MAX, 20, 0)],
            vec![span(3, 30, 7)],
        ]
    }

    fn encode(version: ApiVersion, options: EncodeOptions, chunks: &[Vec<SpanData>]) -> Vec<u8> {
        let mut encoder = PayloadEncoder::new(version, options);
        for chunk in chunks {
            encoder.push_chunk(chunk);
        }
        encoder.finish()
    }

    #[test]
    fn a_v05_body_reads_back_as_the_spans_it_was_encoded_from() {
        let original = chunks();
        let read = v05_chunks(&encode(ApiVersion::V05, EncodeOptions::new(), &original)).unwrap();
        let mut expected = original;
        // v0.5 carries the low 64 bits of the trace id (the high ones are `_dd.p.tid`).
        for s in expected.iter_mut().flatten() {
            s.trace_id = TraceId(u128::from(s.trace_id.low()));
        }
        assert_eq!(read, expected);
    }

    #[test]
    fn links_and_events_come_back_as_the_json_tags_v05_carries_them_in() {
        let mut s = span(1, 10, 0);
        s.links.push(SpanLink {
            trace_id: TraceId(5),
            span_id: 6,
            ..SpanLink::default()
        });
        s.events.push(SpanEvent {
            name: "retry".into(),
            time_unix_nano: 9,
            attributes: TagMap::new(),
        });
        let read = v05_chunks(&encode(ApiVersion::V05, EncodeOptions::new(), &[vec![s]])).unwrap();
        let read = &read[0][0];
        assert!(read.links.is_empty() && read.events.is_empty());
        let links = read.meta.get("_dd.span_links").unwrap();
        assert!(
            links.contains("\"span_id\":\"0000000000000006\""),
            "{links}"
        );
        let events = read.meta.get("events").unwrap();
        assert!(events.contains("\"name\":\"retry\""), "{events}");
    }

    #[test]
    fn v04_chunk_ranges_are_the_encoded_chunks_byte_for_byte() {
        // Native span events nest the deepest structures a v0.4 body holds.
        let options = EncodeOptions::new().with_native_span_events(true);
        let mut all = chunks();
        all[1][0].events.push(SpanEvent {
            name: "e".into(),
            time_unix_nano: 1,
            attributes: [(
                "list",
                crate::AttributeValue::Array(vec![crate::AttributeValue::Int(1)]),
            )]
            .into_iter()
            .collect(),
        });
        all[2][0].links.push(SpanLink::default());
        let body = encode(ApiVersion::V04, options, &all);
        let ranges = v04_chunks(&body).unwrap();
        assert_eq!(ranges.len(), all.len());
        for ((range, spans), chunk) in ranges.into_iter().zip(&all) {
            assert_eq!(spans, chunk.len() as u64);
            let mut alone = Vec::new();
            crate::encode::v04::V04Encoder::new(options).encode_chunk(&mut alone, chunk);
            assert_eq!(&body[range], &alone[..]);
        }
    }

    #[test]
    fn malformed_bodies_are_errors_at_every_cut_and_never_panic() {
        for version in [ApiVersion::V04, ApiVersion::V05] {
            let body = encode(version, EncodeOptions::new(), &chunks());
            let read = |b: &[u8]| match version {
                ApiVersion::V04 => v04_chunks(b).map(|_| ()),
                ApiVersion::V05 => v05_chunks(b).map(|_| ()),
            };
            assert!(read(&body).is_ok());
            for cut in 0..body.len() {
                assert!(read(&body[..cut]).is_err(), "{version} cut at {cut}");
            }
            let mut longer = body.clone();
            longer.push(0xc0);
            assert_eq!(read(&longer).unwrap_err().what, "trailing bytes");
            // Every byte flipped: an error or some other reading, never a panic.
            for i in 0..body.len() {
                let mut flipped = body.clone();
                flipped[i] ^= 0xff;
                let _ = read(&flipped);
            }
        }
    }

    #[test]
    fn hostile_counts_and_nesting_fail_cleanly() {
        // An array claiming 2^32 - 1 chunks in five bytes.
        assert!(v04_chunks(&[0xdd, 0xff, 0xff, 0xff, 0xff]).is_err());
        // Arrays nested past the bound.
        let mut deep = vec![0x91, 0x91];
        deep.extend(std::iter::repeat_n(0x91, 100));
        deep.push(0xc0);
        let err = v04_chunks(&deep).unwrap_err();
        assert_eq!(err.what, "values nested too deep");
        // A v0.5 string index past the table.
        let mut body = vec![0x92, 0x91, 0xa0, 0x91, 0x91, 0x9c, 0x05];
        body.extend([0; 11]);
        assert_eq!(
            v05_chunks(&body).unwrap_err().what,
            "a string index out of the table"
        );
        // Invalid UTF-8 in the table.
        let bad = [0x92, 0x91, 0xa1, 0xff, 0x90];
        assert_eq!(
            v05_chunks(&bad).unwrap_err().what,
            "a string that is not UTF-8"
        );
    }

    #[test]
    fn integers_of_every_width_read_back() {
        let cases: [(&[u8], i128); 10] = [
            (&[0x05], 5),
            (&[0xff], -1),
            (&[0xcc, 0xff], 255),
            (&[0xcd, 0x01, 0x00], 256),
            (&[0xce, 0xff, 0xff, 0xff, 0xff], 4_294_967_295),
            (
                &[0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
                u64::MAX as i128,
            ),
            (&[0xd0, 0x80], -128),
            (&[0xd1, 0x80, 0x00], -32_768),
            (&[0xd2, 0x80, 0x00, 0x00, 0x00], -2_147_483_648),
            (&[0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0], i64::MIN as i128),
        ];
        for (bytes, want) in cases {
            assert_eq!(
                Reader::new(bytes, "test").int().unwrap(),
                want,
                "{bytes:x?}"
            );
        }
        assert!(
            Reader::new(&[0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0], "t")
                .uint()
                .is_err()
        );
        assert!(
            Reader::new(&[0xcf, 0xff, 0, 0, 0, 0, 0, 0, 0], "t")
                .sint()
                .is_err()
        );
    }
}
