//! Short span text in one allocation.
//!
//! `BytesString::from_string` makes two: the string's buffer, then the shared handle around
//! it. A text of at most [`INLINE`] bytes (a request's `http.url`, usually) is written into a
//! buffer on the stack instead and moved into the shared handle itself, which is then its only
//! allocation; a longer one spills to a `String` as before.

use libdd_tinybytes::{Bytes, BytesString, UnderlyingBytes};

/// The longest text kept inline: with the handle's reference count, the allocation stays
/// within glibc's smallest per-thread cache bins.
pub(crate) const INLINE: usize = 110;

/// The bytes of an inline text, owned by the shared handle.
struct Inline {
    len: u8,
    buf: [u8; INLINE],
}

impl AsRef<[u8]> for Inline {
    fn as_ref(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
    }
}

impl UnderlyingBytes for Inline {}

/// A text being written: inline while it fits, a `String` once it does not.
pub(crate) struct TextBuf {
    len: usize,
    buf: [u8; INLINE],
    spilled: Option<String>,
}

/// Where a text is written: a [`TextBuf`] for the native pipeline, a `String` for the
/// OpenTelemetry one.
pub(crate) trait PushStr {
    fn push_str(&mut self, s: &str);
}

impl PushStr for String {
    fn push_str(&mut self, s: &str) {
        String::push_str(self, s);
    }
}

impl PushStr for TextBuf {
    fn push_str(&mut self, s: &str) {
        if let Some(spilled) = &mut self.spilled {
            spilled.push_str(s);
            return;
        }
        let end = self.len + s.len();
        match self.buf.get_mut(self.len..end) {
            Some(room) => {
                room.copy_from_slice(s.as_bytes());
                self.len = end;
            }
            None => {
                let mut spilled = String::with_capacity(end.max(2 * INLINE));
                spilled.push_str(self.inline_str());
                spilled.push_str(s);
                self.spilled = Some(spilled);
            }
        }
    }
}

impl TextBuf {
    pub(crate) fn new() -> TextBuf {
        TextBuf {
            len: 0,
            buf: [0; INLINE],
            spilled: None,
        }
    }

    /// The inline part: only whole `&str`s are ever copied in, so it is UTF-8.
    fn inline_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }

    /// The text as span text: one allocation when it stayed inline.
    pub(crate) fn into_text(self) -> BytesString {
        if let Some(spilled) = self.spilled {
            return BytesString::from_string(spilled);
        }
        let Ok(len) = u8::try_from(self.len) else {
            return BytesString::from_string(self.inline_str().to_string());
        };
        let bytes = Bytes::from_underlying(Inline { len, buf: self.buf });
        BytesString::from_bytes(bytes).unwrap_or_default()
    }
}

/// `s` as span text, in one allocation when it is short (two otherwise, as
/// `BytesString::from_string`).
pub(crate) fn short_text(s: &str) -> BytesString {
    let mut buf = TextBuf::new();
    buf.push_str(s);
    buf.into_text()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(parts: &[&str]) -> String {
        let mut buf = TextBuf::new();
        for part in parts {
            buf.push_str(part);
        }
        buf.into_text().as_str().to_string()
    }

    #[test]
    fn a_text_is_its_parts_concatenated_whatever_its_length() {
        assert_eq!(text(&[]), "");
        assert_eq!(
            text(&["http", "://", "shop", "/users/7"]),
            "http://shop/users/7"
        );
        let exactly = "é".repeat(INLINE / 2);
        assert_eq!(text(&[&exactly]), exactly);
        let long = "x".repeat(INLINE - 3);
        assert_eq!(text(&[&long, "é", "ü", "/tail"]), format!("{long}éü/tail"));
        let huge = "y".repeat(10 * INLINE);
        assert_eq!(text(&["a", &huge, "b"]), format!("a{huge}b"));
    }

    #[test]
    fn clones_share_the_inline_bytes() {
        let mut buf = TextBuf::new();
        buf.push_str("http://shop/users/7");
        let a = buf.into_text();
        let b = a.clone();
        assert_eq!(a.as_str().as_ptr(), b.as_str().as_ptr());
    }
}
