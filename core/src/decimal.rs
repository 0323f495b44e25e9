//! Decimal formatting into a stack buffer, for the numbers every request writes.

/// `n` in decimal, written into the end of `buf` (no allocation).
pub(crate) fn write_u64(mut n: u64, buf: &mut [u8; 20]) -> &str {
    let mut start = buf.len();
    loop {
        start -= 1;
        buf[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[start..]).unwrap_or("0")
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_width() {
        let mut buf = [0; 20];
        for n in [0, 7, 42, 404, 65535, u64::MAX] {
            assert_eq!(super::write_u64(n, &mut buf), n.to_string());
        }
    }
}
