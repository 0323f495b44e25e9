//! The request span's tag values as span text: the status code, the method, `http.url` and
//! `_dd.p.tid`, static or shared wherever they repeat.

use super::RequestInfo;
use crate::config::Config;
use crate::HeaderSource;
use opentelemetry::StringValue;
use std::borrow::Cow;
use std::sync::Arc;

/// The span's status code as the pipeline needs it: its exporter writes `http.status_code` as
/// a string, and formats a number into one on every span (twice), so the code goes in as a
/// static string. A status outside 100-999 (no `http` type can hold one) stays a number.
pub(super) fn status_value(status: u16) -> opentelemetry::Value {
    match status_str(status) {
        Some(digits) => StringValue::from(digits).into(),
        None => i64::from(status).into(),
    }
}

/// Every three-digit status, in order from 100: `STATUS_DIGITS[3 * (s - 100)..][..3]` is `s`.
static STATUS_DIGITS: [u8; 2700] = {
    let mut digits = [0u8; 2700];
    let mut i = 0;
    while i < 900 {
        let s = i + 100;
        digits[3 * i] = b'0' + (s / 100) as u8;
        digits[3 * i + 1] = b'0' + (s / 10 % 10) as u8;
        digits[3 * i + 2] = b'0' + (s % 10) as u8;
        i += 1;
    }
    digits
};

/// `status` in decimal as a static string, for 100 to 999.
pub(crate) fn status_str(status: u16) -> Option<&'static str> {
    let start = 3 * usize::from(status).checked_sub(100)?;
    std::str::from_utf8(STATUS_DIGITS.get(start..start + 3)?).ok()
}

/// `status` in decimal, written into `buf` (no allocation).
pub(super) fn status_digits(status: u16, buf: &mut [u8; 20]) -> &str {
    crate::decimal::write_u64(u64::from(status), buf)
}

/// `_dd.p.tid` as 16 lower-hex digits. Generated ids carry the second they were made in their
/// high bits, so one formatted value serves every trace started in the same second.
pub(super) fn tid_tag(high: u64) -> StringValue {
    thread_local! {
        static LAST: std::cell::RefCell<Option<(u64, StringValue)>> = const { std::cell::RefCell::new(None) };
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        match last.as_ref() {
            Some((h, v)) if *h == high => v.clone(),
            _ => {
                let v = StringValue::from(Arc::<str>::from(format!("{high:016x}")));
                *last = Some((high, v.clone()));
                v
            }
        }
    })
}

pub(crate) fn method_str(method: &str) -> Cow<'static, str> {
    // Standard methods are static strings: no allocation for the common case.
    Cow::Borrowed(match method {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        "PATCH" => "PATCH",
        "TRACE" => "TRACE",
        "CONNECT" => "CONNECT",
        other => return Cow::Owned(other.chars().take(32).collect()),
    })
}

/// At most this many bytes of the path and of the query go into `http.url`.
pub(crate) const MAX_URL_PART_LEN: usize = 4096;

/// `scheme://host/path?query` with the query obfuscated; credentials never appear.
pub(crate) fn http_url<H: HeaderSource + ?Sized>(
    req: &RequestInfo<'_, H>,
    config: &Config,
) -> String {
    let mut url = String::with_capacity(req.scheme.len() + 3 + req.path.len() + 32);
    write_http_url(req, config, &mut url);
    url
}

/// [`http_url`] as span text: one allocation for a URL that fits inline (`TextBuf`).
pub(crate) fn http_url_text<H: HeaderSource + ?Sized>(
    req: &RequestInfo<'_, H>,
    config: &Config,
) -> libdd_tinybytes::BytesString {
    let mut url = crate::native::TextBuf::new();
    write_http_url(req, config, &mut url);
    url.into_text()
}

fn write_http_url<H: HeaderSource + ?Sized>(
    req: &RequestInfo<'_, H>,
    config: &Config,
    url: &mut impl crate::native::PushStr,
) {
    let host = req
        .authority
        .or_else(|| req.headers.first_str("host"))
        .unwrap_or("");
    // Userinfo is never kept (`user:pass@host`).
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let (scheme, path) = (req.scheme, req.path);
    url.push_str(scheme);
    url.push_str("://");
    url.push_str(&host[..floor_boundary(host, MAX_URL_PART_LEN)]);
    url.push_str(&path[..floor_boundary(path, MAX_URL_PART_LEN)]);
    if let Some(query) = req.query.filter(|q| !q.is_empty()) {
        let query = &query[..floor_boundary(query, MAX_URL_PART_LEN)];
        if let Some(q) = config.query.apply(query) {
            url.push_str("?");
            url.push_str(&q);
        }
    }
}

pub(crate) fn floor_boundary(s: &str, max: usize) -> usize {
    if s.len() <= max {
        return s.len();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_status_strings_are_the_decimal_status() {
        for status in 100u16..=999 {
            assert_eq!(status_str(status), Some(status.to_string().as_str()));
            assert_eq!(
                status_value(status),
                opentelemetry::Value::from(status.to_string())
            );
        }
        for status in [0u16, 99, 1000, 65535] {
            assert_eq!(status_str(status), None);
            assert_eq!(
                status_value(status),
                opentelemetry::Value::I64(status.into())
            );
        }
    }

    #[test]
    fn status_digits_are_the_decimal_status() {
        for status in [0u16, 7, 42, 404, 503, 65535] {
            let mut buf = [0u8; 20];
            assert_eq!(status_digits(status, &mut buf), status.to_string());
        }
    }

    #[test]
    fn the_span_text_url_is_the_url() {
        let headers = http::HeaderMap::new();
        let long = format!("/{}", "é".repeat(300));
        for (authority, path, query) in [
            ("shop", "/users/7", None),
            ("shop:8080", "/users/7", Some("token=abc&q=1")),
            ("user:pw@shop", long.as_str(), Some("q=1")),
            ("", "/", Some("")),
            (
                "a-rather-long-host-name.internal.example.com:8443",
                "/api/v2/inventory/items/1234567890/variants",
                Some("color=blue&size=xl"),
            ),
        ] {
            let info = RequestInfo::new("GET", path, query, &headers).authority(Some(authority));
            let config = Config::default();
            assert_eq!(
                http_url_text(&info, &config).as_str(),
                http_url(&info, &config)
            );
        }
    }

    #[test]
    fn credentials_never_reach_http_url() {
        let headers = http::HeaderMap::new();
        let info = RequestInfo::new("GET", "/p", Some("token=abc&q=1"), &headers)
            .authority(Some("user:secret@example.com:8080"));
        let url = http_url(&info, &Config::default());
        assert_eq!(url, "http://example.com:8080/p?<redacted>&q=1");
    }
}
