//! Hand-written matchers for the built-in detectors. Each takes the scanned
//! bytes and a start index and returns where a candidate starting there
//! ends; [`crate::redact::detectors`] calls them from one pass over the value, only
//! at the bytes that can begin their format, and then confirms the window
//! (Luhn, JWT header, octet ranges, ...). They match what the regexes of
//! the first detector version matched (the fuzz crate keeps those as an
//! oracle), without a regex engine.

/// A regex `\w` byte.
pub fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// What a whole value holds, counted in one cheap pass before the matchers.
/// A format needing more digits, dots, colons or bytes than the value has
/// cannot match anywhere in it, so its matchers are never called: most
/// values (short ids, words, numbers) then cost this pass and little else.
pub struct Shape {
    pub len: usize,
    pub digits: usize,
    pub dots: usize,
    pub colons: usize,
}

/// Lane bits per counted byte class: digits, dots and colons are summed in
/// one add per byte, in 21-bit lanes of a `u64`.
const LANE: u32 = 21;

const fn lane(b: u8) -> u64 {
    match b {
        b'0'..=b'9' => 1,
        b'.' => 1 << LANE,
        b':' => 1 << (2 * LANE),
        _ => 0,
    }
}

/// [`lane`] of every byte, looked up instead of matched per byte.
const LANES: [u64; 256] = {
    let mut t = [0u64; 256];
    let mut rest: &mut [u64] = &mut t;
    let mut b: u8 = 0;
    while let Some((slot, tail)) = rest.split_first_mut() {
        *slot = lane(b);
        b = b.wrapping_add(1);
        rest = tail;
    }
    t
};

impl Shape {
    pub fn of(t: &[u8]) -> Self {
        let mut s = Shape {
            len: t.len(),
            digits: 0,
            dots: 0,
            colons: 0,
        };
        let mask = (1u64 << LANE) - 1;
        // A chunk's counts stay below 2^20, so no lane overflows.
        for chunk in t.chunks(1 << 20) {
            let sum = chunk.iter().fold(0u64, |acc, b| {
                acc + LANES.get(usize::from(*b)).copied().unwrap_or(0)
            });
            s.digits += (sum & mask) as usize;
            s.dots += ((sum >> LANE) & mask) as usize;
            s.colons += (sum >> (2 * LANE)) as usize;
        }
        s
    }
}

/// Whether a byte that is not a letter or digit can begin any built-in
/// format (`=` `-` `:` keyed credentials, `+` `/` `_` `-` base64 runs, `@`
/// emails, `+` `(` phones); the pass skips every other such byte.
pub fn can_begin(b: u8) -> bool {
    matches!(b, b'=' | b'-' | b':' | b'+' | b'/' | b'_' | b'@' | b'(')
}

/// The byte before `i`, if any.
pub fn prev(t: &[u8], i: usize) -> Option<u8> {
    i.checked_sub(1).and_then(|j| t.get(j)).copied()
}

/// The end of the run of bytes `f` accepts from `i`.
pub fn run(t: &[u8], i: usize, f: impl Fn(u8) -> bool) -> usize {
    t.get(i..)
        .and_then(|rest| rest.iter().position(|b| !f(*b)))
        .map_or(t.len().max(i), |n| i + n)
}

fn byte_is(t: &[u8], i: usize, f: impl Fn(u8) -> bool) -> bool {
    t.get(i).is_some_and(|b| f(*b))
}

/// A regex `\b` after a word byte: the next byte is not a word byte.
fn ends_word(t: &[u8], i: usize) -> bool {
    !byte_is(t, i, is_word)
}

fn digits(t: &[u8], i: usize) -> usize {
    run(t, i, |b| b.is_ascii_digit()) - i
}

/// `(?i)\b(?:bearer|basic)[ \t]+[A-Za-z0-9._~+/=-]+`
pub fn auth_scheme(t: &[u8], i: usize) -> Option<usize> {
    let rest = t.get(i..)?;
    let word = [&b"bearer"[..], b"basic"].into_iter().find(|w| {
        rest.get(..w.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(w))
    })?;
    let blanks = run(t, i + word.len(), |b| b == b' ' || b == b'\t');
    let end = run(t, blanks, |b| {
        b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'+' | b'/' | b'=' | b'-')
    });
    (blanks > i + word.len() && end > blanks).then_some(end)
}

/// A base64url byte (JWT segments).
pub fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// `seg{4,}.seg{4,}.seg*` of base64url bytes, from the start of a run.
pub fn jwt(t: &[u8], i: usize) -> Option<usize> {
    let a = run(t, i, is_b64url);
    if a - i < 4 || t.get(a) != Some(&b'.') {
        return None;
    }
    let b = run(t, a + 1, is_b64url);
    if b - (a + 1) < 4 || t.get(b) != Some(&b'.') {
        return None;
    }
    Some(run(t, b + 1, is_b64url))
}

const AWS_PREFIXES: [&[u8; 4]; 11] = [
    b"AKIA", b"ASIA", b"ABIA", b"ACCA", b"AIDA", b"AROA", b"AGPA", b"ANPA", b"ANVA", b"AIPA",
    b"APKA",
];

/// An AWS access key id: a known 4-letter prefix and 16 of `[A-Z0-9]`.
pub fn aws_key(t: &[u8], i: usize) -> Option<usize> {
    let prefix = t.get(i..i + 4)?;
    if !AWS_PREFIXES.iter().any(|p| p[..] == *prefix) {
        return None;
    }
    let end = run(t, i + 4, |b| b.is_ascii_uppercase() || b.is_ascii_digit());
    (end == i + 20 && ends_word(t, end)).then_some(end)
}

fn is_local(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-')
}

/// An email address around the `@` at `at`: the local part runs back to
/// `floor` at most (where the previous candidate ended); the domain is
/// dot-separated labels ending in 2+ letters at a word boundary.
pub fn email(t: &[u8], at: usize, floor: usize) -> Option<(usize, usize)> {
    let mut start = at;
    while start > floor && prev(t, start).is_some_and(is_local) {
        start -= 1;
    }
    if start == at {
        return None;
    }
    let mut best = None;
    let mut p = at + 1;
    loop {
        let r = run(t, p, |b| b.is_ascii_alphanumeric() || b == b'-');
        let edges_ok = byte_is(t, p, |b| b.is_ascii_alphanumeric())
            && prev(t, r).is_some_and(|b| b.is_ascii_alphanumeric());
        if r == p || !edges_ok || t.get(r) != Some(&b'.') {
            break;
        }
        let tld = run(t, r + 1, |b| b.is_ascii_alphabetic());
        if tld - (r + 1) >= 2 && ends_word(t, tld) {
            best = Some(tld);
        }
        p = r + 1;
    }
    best.map(|end| (start, end))
}

/// `\b[2-6](?:[ -]?[0-9]){12,18}\b`, the longest such window.
pub fn card(t: &[u8], i: usize) -> Option<usize> {
    if !byte_is(t, i, |b| (b'2'..=b'6').contains(&b)) {
        return None;
    }
    let (mut pos, mut count, mut best) = (i + 1, 1, None);
    while count < 19 {
        if byte_is(t, pos, |b| b.is_ascii_digit()) {
            pos += 1;
        } else if byte_is(t, pos, |b| b == b' ' || b == b'-')
            && byte_is(t, pos + 1, |b| b.is_ascii_digit())
        {
            pos += 2;
        } else {
            break;
        }
        count += 1;
        if count >= 13 && ends_word(t, pos) {
            best = Some(pos);
        }
    }
    best
}

/// `\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b`
pub fn ssn(t: &[u8], i: usize) -> Option<usize> {
    let ok = digits(t, i) == 3
        && t.get(i + 3) == Some(&b'-')
        && digits(t, i + 4) == 2
        && t.get(i + 6) == Some(&b'-')
        && digits(t, i + 7) == 4;
    (ok && ends_word(t, i + 11)).then_some(i + 11)
}

/// A byte of an IPv6 candidate run (letters too, so `fe80::1x` is one run
/// that fails the parse instead of a match glued to a word).
pub fn is_ipv6_run(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b':' | b'.' | b'_')
}

/// The whole run of IPv6-ish bytes from `i`, when it has two colons.
pub fn ipv6(t: &[u8], i: usize) -> Option<usize> {
    let end = run(t, i, is_ipv6_run);
    let colons = t.get(i..end)?.iter().filter(|b| **b == b':').count();
    (colons >= 2).then_some(end)
}

/// `\b(?:[0-9]{1,3}\.){3}[0-9]{1,3}\b`
pub fn ipv4(t: &[u8], i: usize) -> Option<usize> {
    let mut p = i;
    for octet in 0..4 {
        let n = digits(t, p);
        if !(1..=3).contains(&n) {
            return None;
        }
        p += n;
        if octet < 3 {
            if t.get(p) != Some(&b'.') {
                return None;
            }
            p += 1;
        }
    }
    ends_word(t, p).then_some(p)
}

/// Whether the digits at `i` are a product version, `Name/1.2.3.4` as in
/// a user agent (`Chrome/120.0.0.0`): right after `/` and a product name
/// (a letter, then letters, digits, `-_!+`) that starts the value or
/// follows a blank, `(`, `;` or `,`. A path such as `/hosts/10.0.0.1` or
/// `http://10.0.0.1` is not a product token and keeps its address.
pub fn product_version(t: &[u8], i: usize) -> bool {
    let Some(slash) = i.checked_sub(1).filter(|s| t.get(*s) == Some(&b'/')) else {
        return false;
    };
    let name_byte = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'!' | b'+');
    let mut s = slash;
    while prev(t, s).is_some_and(name_byte) {
        s -= 1;
    }
    s < slash
        && byte_is(t, s, |b| b.is_ascii_alphabetic())
        && prev(t, s).is_none_or(|b| matches!(b, b' ' | b'\t' | b'(' | b';' | b','))
}

/// Whether the run at `i` is part of one of our own keyed tokens,
/// `tk.<key id>.<22 base64url>` ([`crate::redact::token`]): the key id or
/// the MAC. Tokens are what redaction leaves behind; they are never
/// `generic_secret`s.
pub fn in_our_token(t: &[u8], i: usize) -> bool {
    let after_tk = |p: usize| {
        p >= 3
            && t.get(p - 3..p) == Some(b"tk.")
            && !prev(t, p - 3).is_some_and(|b| is_b64url(b) || b == b'.')
    };
    if after_tk(i) {
        return true;
    }
    if prev(t, i) != Some(b'.') || run(t, i, is_b64url) != i + 22 {
        return false;
    }
    let mut s = i - 1;
    while prev(t, s).is_some_and(is_b64url) {
        s -= 1;
    }
    s + 1 < i && after_tk(s)
}

fn is_phone_sep(b: u8) -> bool {
    b == b' ' || b == b'.' || b == b'-'
}

/// `\+[1-9][0-9]{7,14}\b` or
/// `(?:\+[0-9]{1,3}[ .-]?)?(?:\([0-9]{2,4}\)[ .-]?|[0-9]{2,4}[ .-])[0-9]{3,4}[ .-][0-9]{3,4}\b`,
/// tried in the regex's order of preference.
pub fn phone(t: &[u8], i: usize) -> Option<usize> {
    let plus = t.get(i) == Some(&b'+');
    if plus && byte_is(t, i + 1, |b| (b'1'..=b'9').contains(&b)) {
        let n = digits(t, i + 2);
        if (7..=14).contains(&n) && ends_word(t, i + 2 + n) {
            return Some(i + 2 + n);
        }
    }
    if plus {
        let r = digits(t, i + 1).min(3);
        for n in (1..=r).rev() {
            let p = i + 1 + n;
            if byte_is(t, p, is_phone_sep) {
                if let Some(e) = phone_area(t, p + 1) {
                    return Some(e);
                }
            }
            if let Some(e) = phone_area(t, p) {
                return Some(e);
            }
        }
    }
    phone_area(t, i)
}

/// `(?:\([0-9]{2,4}\)[ .-]?|[0-9]{2,4}[ .-])` then the subscriber number.
fn phone_area(t: &[u8], s: usize) -> Option<usize> {
    if t.get(s) == Some(&b'(') {
        let n = digits(t, s + 1);
        if !(2..=4).contains(&n) || t.get(s + 1 + n) != Some(&b')') {
            return None;
        }
        let p = s + 2 + n;
        if byte_is(t, p, is_phone_sep) {
            if let Some(e) = phone_number(t, p + 1) {
                return Some(e);
            }
        }
        return phone_number(t, p);
    }
    let n = digits(t, s);
    if (2..=4).contains(&n) && byte_is(t, s + n, is_phone_sep) {
        return phone_number(t, s + n + 1);
    }
    None
}

/// `[0-9]{3,4}[ .-][0-9]{3,4}\b`
fn phone_number(t: &[u8], p: usize) -> Option<usize> {
    let a = digits(t, p);
    if !(3..=4).contains(&a) || !byte_is(t, p + a, is_phone_sep) {
        return None;
    }
    let q = p + a + 1;
    let b = digits(t, q);
    ((3..=4).contains(&b) && ends_word(t, q + b)).then_some(q + b)
}

/// IBAN lengths per country (ISO 13616 registry).
const IBAN_LENGTHS: &[(&[u8; 2], usize)] = &[
    (b"AD", 24),
    (b"AE", 23),
    (b"AL", 28),
    (b"AT", 20),
    (b"AZ", 28),
    (b"BA", 20),
    (b"BE", 16),
    (b"BG", 22),
    (b"BH", 22),
    (b"BI", 27),
    (b"BR", 29),
    (b"BY", 28),
    (b"CH", 21),
    (b"CR", 22),
    (b"CY", 28),
    (b"CZ", 24),
    (b"DE", 22),
    (b"DJ", 27),
    (b"DK", 18),
    (b"DO", 28),
    (b"EE", 20),
    (b"EG", 29),
    (b"ES", 24),
    (b"FI", 18),
    (b"FK", 18),
    (b"FO", 18),
    (b"FR", 27),
    (b"GB", 22),
    (b"GE", 22),
    (b"GI", 23),
    (b"GL", 18),
    (b"GR", 27),
    (b"GT", 28),
    (b"HR", 21),
    (b"HU", 28),
    (b"IE", 22),
    (b"IL", 23),
    (b"IQ", 23),
    (b"IS", 26),
    (b"IT", 27),
    (b"JO", 30),
    (b"KW", 30),
    (b"KZ", 20),
    (b"LB", 28),
    (b"LC", 32),
    (b"LI", 21),
    (b"LT", 20),
    (b"LU", 20),
    (b"LV", 21),
    (b"LY", 25),
    (b"MC", 27),
    (b"MD", 24),
    (b"ME", 22),
    (b"MK", 19),
    (b"MN", 20),
    (b"MR", 27),
    (b"MT", 31),
    (b"MU", 30),
    (b"NI", 28),
    (b"NL", 18),
    (b"NO", 15),
    (b"OM", 23),
    (b"PK", 24),
    (b"PL", 28),
    (b"PS", 29),
    (b"PT", 25),
    (b"QA", 29),
    (b"RO", 24),
    (b"RS", 22),
    (b"RU", 33),
    (b"SA", 24),
    (b"SC", 31),
    (b"SD", 18),
    (b"SE", 24),
    (b"SI", 19),
    (b"SK", 24),
    (b"SM", 27),
    (b"SO", 23),
    (b"ST", 25),
    (b"SV", 28),
    (b"TL", 23),
    (b"TN", 24),
    (b"TR", 26),
    (b"UA", 29),
    (b"VA", 22),
    (b"VG", 24),
    (b"XK", 20),
    (b"YE", 30),
];

/// An IBAN from `i`: country code, check digits and the country's length
/// of `[A-Z0-9]`, compact or in groups of four, with a valid mod-97 check.
pub fn iban(t: &[u8], i: usize) -> Option<usize> {
    let country = t.get(i..i + 2)?;
    let &(_, len) = IBAN_LENGTHS.iter().find(|(c, _)| c[..] == *country)?;
    if digits(t, i + 2) < 2 {
        return None;
    }
    let upper_digit = |b: u8| b.is_ascii_uppercase() || b.is_ascii_digit();
    let mut chars: Vec<u8> = Vec::with_capacity(len);
    let (mut p, mut group, mut spaced) = (i, 0, false);
    while chars.len() < len {
        match t.get(p) {
            Some(&b) if upper_digit(b) && !(spaced && group == 4) => {
                chars.push(b);
                group += 1;
                p += 1;
            }
            Some(b' ') if group == 4 && byte_is(t, p + 1, upper_digit) => {
                group = 0;
                spaced = true;
                p += 1;
            }
            _ => return None,
        }
    }
    if byte_is(t, p, |b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let (head, tail) = chars.split_at(4);
    let rem = tail.iter().chain(head).try_fold(0u32, |acc, &b| {
        let v = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            b'A'..=b'Z' => u32::from(b - b'A') + 10,
            _ => return None,
        };
        Some(if v >= 10 {
            (acc * 100 + v) % 97
        } else {
            (acc * 10 + v) % 97
        })
    })?;
    (rem == 1).then_some(p)
}

/// A byte of a generated-looking token (base64, base64url, hex, ids).
pub fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'_' | b'-')
}

/// `generic_secret`: a run of 20+ token bytes with an alphanumeric piece
/// of 16+ that mixes letters and digits, at least 3.5 bits of entropy per
/// byte (so hyphenated words and dates pass), or a UUID.
pub fn generic_secret(t: &[u8], i: usize) -> Option<usize> {
    let end = run(t, i, is_token_byte);
    let w = t.get(i..end)?;
    if is_uuid(w) {
        return Some(end);
    }
    if w.len() < 20 {
        return None;
    }
    let mixed_piece = w.split(|b| !b.is_ascii_alphanumeric()).any(|piece| {
        let digits = piece.iter().filter(|b| b.is_ascii_digit()).count();
        piece.len() >= 16 && digits >= 2 && piece.len() - digits >= 2
    });
    (mixed_piece && entropy_bits(w) >= 3.5).then_some(end)
}

/// `8-4-4-4-12` hex digits.
pub fn is_uuid(w: &[u8]) -> bool {
    w.len() == 36
        && w.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Shannon entropy of the bytes, in bits per byte.
pub fn entropy_bits(w: &[u8]) -> f64 {
    let mut counts = [0u16; 128];
    for b in w {
        if let Some(c) = counts.get_mut(usize::from(*b & 0x7f)) {
            *c = c.saturating_add(1);
        }
    }
    let n = w.len() as f64;
    counts
        .iter()
        .filter(|c| **c > 0)
        .map(|c| {
            let p = f64::from(*c) / n;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn iban_mod97_and_country_length() {
        for ok in [
            "DE89370400440532013000",
            "GB82 WEST 1234 5698 7654 32",
            "FR1420041010050500013M02606",
            "NL91ABNA0417164300",
        ] {
            assert_eq!(iban(ok.as_bytes(), 0), Some(ok.len()), "{ok}");
        }
        for no in [
            "DE89370400440532013001",
            "DE8937040044053201300",
            "DE893704004405320130000",
            "XX89370400440532013000",
            "GB82 WEST 12345698765432",
        ] {
            assert_eq!(iban(no.as_bytes(), 0), None, "{no}");
        }
    }

    #[test]
    fn generic_secret_needs_length_mix_and_entropy() {
        for ok in [
            "9f8a7c6b5d4e3f2a1b0c9d8e",
            "Zx81kLq0PmN3vB7rT5yW2sD4",
            "123e4567-e89b-12d3-a456-426614174000",
        ] {
            assert_eq!(generic_secret(ok.as_bytes(), 0), Some(ok.len()), "{ok}");
        }
        for no in [
            "checkout-service-v2",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaa1111",
            "Mozilla",
            "2024-01-15-12-30-45-000000",
            "order-history-2024-summary",
        ] {
            assert_eq!(generic_secret(no.as_bytes(), 0), None, "{no}");
        }
    }
}
