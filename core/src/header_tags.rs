//! `DD_TRACE_HEADER_TAGS`: request and response headers copied to span tags.

use crate::tags::{normalize_header_tag_name, parse_dd_tags};
use crate::HeaderSource;
use http::HeaderName;
use libdd_tinybytes::BytesString;
use opentelemetry::{Key, KeyValue};
use std::sync::Arc;

/// A precomputed table from header name to the tag names it produces, so the per-request work
/// is one header lookup per configured entry.
///
/// ```
/// use ddtrace_core::HeaderTags;
///
/// let (tags, rejected) = HeaderTags::parse_lenient("x-request-id:request_id, accept");
/// assert!(rejected.is_empty());
/// assert_eq!(tags.len(), 2);
/// ```
#[derive(Clone, Debug, Default)]
pub struct HeaderTags {
    entries: Vec<HeaderTagEntry>,
}

#[derive(Clone, Debug)]
struct HeaderTagEntry {
    /// Lower-case, validated as an HTTP header name.
    header: String,
    // Shared keys: putting one on a span is a reference count, not an allocation.
    request_tag: Key,
    response_tag: Key,
    // The same keys as span text, for the native pipeline.
    request_text: BytesString,
    response_text: BytesString,
}

/// At most this many headers are tagged; a longer configuration is cut with a warning.
pub(crate) const MAX_HEADER_TAGS: usize = 64;
/// A tagged header value is cut to this many bytes (on a character boundary).
pub(crate) const MAX_HEADER_VALUE_LEN: usize = 4096;

impl HeaderTags {
    /// Parses the `DD_TRACE_HEADER_TAGS` grammar; returns the entries whose header name is not a
    /// valid HTTP header name separately, so the caller decides whether that is an error.
    pub fn parse_lenient(spec: &str) -> (HeaderTags, Vec<String>) {
        let mut entries = Vec::new();
        let mut rejected = Vec::new();
        for (header, tag) in parse_dd_tags(spec).into_iter().take(MAX_HEADER_TAGS) {
            let lower = header.trim().to_ascii_lowercase();
            if HeaderName::from_bytes(lower.as_bytes()).is_err() {
                rejected.push(header);
                continue;
            }
            let name = lower.clone();
            let (request_tag, response_tag) = if tag.is_empty() {
                let n = normalize_header_tag_name(&lower);
                (
                    format!("http.request.headers.{n}"),
                    format!("http.response.headers.{n}"),
                )
            } else {
                (tag.clone(), tag)
            };
            entries.retain(|e: &HeaderTagEntry| e.header != name);
            let key = |tag: String| Key::from(Arc::<str>::from(tag));
            entries.push(HeaderTagEntry {
                header: name,
                request_text: BytesString::from_string(request_tag.clone()),
                response_text: BytesString::from_string(response_tag.clone()),
                request_tag: key(request_tag),
                response_tag: key(response_tag),
            });
        }
        (HeaderTags { entries }, rejected)
    }

    /// The number of configured headers.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no header is tagged.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The tags for the configured request headers present in `headers`.
    pub fn request_tags<'a, H: HeaderSource + ?Sized>(
        &'a self,
        headers: &'a H,
    ) -> impl Iterator<Item = (&'a str, String)> + 'a {
        self.collect(headers)
            .map(|(e, v)| (e.request_tag.as_str(), v))
    }

    /// The tags for the configured response headers present in `headers`.
    pub fn response_tags<'a, H: HeaderSource + ?Sized>(
        &'a self,
        headers: &'a H,
    ) -> impl Iterator<Item = (&'a str, String)> + 'a {
        self.collect(headers)
            .map(|(e, v)| (e.response_tag.as_str(), v))
    }

    fn collect<'a, H: HeaderSource + ?Sized>(
        &'a self,
        headers: &'a H,
    ) -> impl Iterator<Item = (&'a HeaderTagEntry, String)> + 'a {
        self.entries.iter().filter_map(move |e| {
            let mut values = headers.values_of(&e.header);
            let first = values.next()?;
            // Repeated fields are one list (RFC 9110 5.3), as dd-trace-py sees them.
            // No trimming: HTTP parsers already strip OWS, and dd-trace-py keeps values as given.
            let mut value = String::from_utf8_lossy(first).into_owned();
            for v in values {
                if value.len() >= MAX_HEADER_VALUE_LEN {
                    break;
                }
                value.push(',');
                value.push_str(&String::from_utf8_lossy(v));
            }
            truncate(&mut value, MAX_HEADER_VALUE_LEN);
            Some((e, value))
        })
    }

    pub(crate) fn push_request<H: HeaderSource + ?Sized>(
        &self,
        headers: &H,
        attrs: &mut Vec<KeyValue>,
    ) {
        for (e, value) in self.collect(headers) {
            attrs.push(KeyValue::new(e.request_tag.clone(), value));
        }
    }

    /// The request (or response) header tags as span text, for the native pipeline.
    pub(crate) fn texts<'a, H: HeaderSource + ?Sized>(
        &'a self,
        headers: &'a H,
        request: bool,
    ) -> impl Iterator<Item = (BytesString, BytesString)> + 'a {
        self.collect(headers).map(move |(e, value)| {
            let key = if request {
                &e.request_text
            } else {
                &e.response_text
            };
            (key.clone(), BytesString::from_string(value))
        })
    }

    pub(crate) fn response_attributes<'a, H: HeaderSource + ?Sized>(
        &'a self,
        headers: &'a H,
    ) -> impl Iterator<Item = KeyValue> + 'a {
        self.collect(headers)
            .map(|(e, value)| KeyValue::new(e.response_tag.clone(), value))
    }
}

pub(crate) fn truncate(s: &mut String, max: usize) {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
}
