//! Client IP resolution (`http.client_ip`), as dd-trace-py's `_get_request_header_client_ip`.

use crate::HeaderSource;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The headers scanned, in order, when no client-IP header is configured; the first one present
/// is used.
pub const CLIENT_IP_HEADERS: [&str; 10] = [
    "x-forwarded-for",
    "x-real-ip",
    "true-client-ip",
    "x-client-ip",
    "forwarded",
    "forwarded-for",
    "x-cluster-client-ip",
    "fastly-client-ip",
    "cf-connecting-ip",
    "cf-connecting-ipv6",
];

/// Resolves the client IP of a request from its headers and the socket's peer address.
///
/// With `custom_header`, only that header is read and it must hold exactly one address.
/// Otherwise the first present header of [`CLIENT_IP_HEADERS`] is split on commas and the first
/// public address wins; a private one is used only when the peer is private too.
///
/// ```
/// use ddtrace_core::client_ip::resolve_client_ip;
/// use http::HeaderMap;
///
/// let mut headers = HeaderMap::new();
/// headers.insert("x-forwarded-for", "10.0.0.1, 8.8.8.8".parse().unwrap());
/// let ip = resolve_client_ip(&headers, Some("127.0.0.1".parse().unwrap()), None);
/// assert_eq!(ip, Some("8.8.8.8".parse().unwrap()));
/// ```
pub fn resolve_client_ip<H: HeaderSource + ?Sized>(
    headers: &H,
    peer: Option<IpAddr>,
    custom_header: Option<&str>,
) -> Option<IpAddr> {
    if let Some(name) = custom_header {
        let value = headers.first_str(&name.to_ascii_lowercase())?;
        return parse_item(value.trim());
    }
    let value = CLIENT_IP_HEADERS
        .iter()
        .find_map(|name| headers.values_of(name).next())
        .and_then(|v| std::str::from_utf8(v).ok());
    let mut private_candidate = None;
    if let Some(value) = value {
        for item in value.split(',').take(MAX_ITEMS) {
            if let Some(ip) = parse_item(item) {
                if is_global(&ip) {
                    return Some(ip);
                }
                if private_candidate.is_none() {
                    private_candidate = Some(ip);
                }
            }
        }
    }
    match (peer, private_candidate) {
        (Some(p), _) if is_global(&p) => Some(p),
        (p, None) => p,
        (_, Some(c)) => Some(c),
    }
}

/// An attacker-sized header cannot make resolution cost more than this many parses.
const MAX_ITEMS: usize = 64;

/// One comma-separated item: a bare IPv4/IPv6 address or a `for=` parameter of `Forwarded`.
fn parse_item(item: &str) -> Option<IpAddr> {
    let start = item.trim_start();
    if let Ok(v4) = start.parse::<Ipv4Addr>() {
        return Some(IpAddr::V4(v4));
    }
    if start.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') && !start.is_empty() {
        if let Ok(v6) = start.parse::<Ipv6Addr>() {
            return Some(IpAddr::V6(v6));
        }
    }
    // `Forwarded: for=1.2.3.4:80;proto=http` and `for="[2001:db8::1]:80"`.
    for param in item.split(';') {
        let param = param.trim_start();
        let Some(rest) = param
            .get(..4)
            .filter(|p| p.eq_ignore_ascii_case("for="))
            .map(|_| &param[4..])
        else {
            continue;
        };
        if let Some(v6) = rest.strip_prefix("\"[") {
            let end = v6.find(']')?;
            return v6[..end].parse::<Ipv6Addr>().ok().map(IpAddr::V6);
        }
        let rest = rest.strip_prefix('"').unwrap_or(rest);
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        return rest[..end].parse::<Ipv4Addr>().ok().map(IpAddr::V4);
    }
    None
}

/// Python's `ipaddress.ip_address(x).is_global`.
pub(crate) fn is_global(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            let n = u32::from(*v4);
            let in_net = |base: u32, bits: u32| (n ^ base) >> (32 - bits) == 0;
            !(o[0] == 0
                || o[0] == 10
                || o[0] == 127
                || in_net(0xA9FE_0000, 16) // 169.254/16
                || in_net(0xAC10_0000, 12) // 172.16/12
                || in_net(0xC000_0000, 29) // 192.0.0.0/29
                || in_net(0xC000_00AA, 31) // 192.0.0.170/31
                || in_net(0xC000_0200, 24) // 192.0.2/24
                || in_net(0xC0A8_0000, 16) // 192.168/16
                || in_net(0xC612_0000, 15) // 198.18/15
                || in_net(0xC633_6400, 24) // 198.51.100/24
                || in_net(0xCB00_7100, 24) // 203.0.113/24
                || o[0] >= 240
                || in_net(0x6440_0000, 10)) // 100.64/10 (shared address space)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_global(&IpAddr::V4(v4));
            }
            let s = v6.segments();
            let n = u128::from(*v6);
            let in_net = |base: u128, bits: u32| (n ^ base) >> (128 - bits) == 0;
            !(v6.is_loopback()
                || v6.is_unspecified()
                || in_net(0x0100_0000_0000_0000_u128 << 64, 64) // 100::/64
                || in_net(0x2001_u128 << 112, 23) // 2001::/23
                || in_net(0x2001_0db8_u128 << 96, 32) // 2001:db8::/32
                || in_net(0x2001_0010_u128 << 96, 28) // 2001:10::/28
                || (s[0] & 0xfe00) == 0xfc00 // fc00::/7
                || (s[0] & 0xffc0) == 0xfe80) // fe80::/10
        }
    }
}
