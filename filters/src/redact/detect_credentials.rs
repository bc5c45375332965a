//! Credential formats with a distinctive shape: vendor token prefixes with
//! their body alphabet and length, and a few keyed shapes (`sig=`,
//! `AccountKey=`, PEM private keys, URL userinfo, AWS secret keys). Each
//! hit is a `credential` with a sub-label (`[REDACTED:credential:github]`).
//! The prefixes and lengths are the vendors' published formats; secret
//! scanners (gitleaks, trufflehog) list the same families.

use crate::redact::detect_formats::{alnum, b64, b64url, hex, hex_lower, lower_digit, FORMATS};
use crate::redact::detect_scan::{is_word, prev, run};

/// Whether a byte starts any prefixed credential shape (a cheap gate per
/// word).
pub fn may_start(b: u8) -> bool {
    matches!(
        b,
        b'a' | b'b'
            | b'c'
            | b'd'
            | b'e'
            | b'f'
            | b'g'
            | b'h'
            | b'i'
            | b'k'
            | b'l'
            | b'n'
            | b'o'
            | b'p'
            | b'r'
            | b's'
            | b't'
            | b'v'
            | b'w'
            | b'x'
            | b'y'
            | b'A'
            | b'C'
            | b'E'
            | b'F'
            | b'G'
            | b'H'
            | b'I'
            | b'L'
            | b'M'
            | b'N'
            | b'O'
            | b'P'
            | b'S'
            | b'Z'
    )
}

fn starts_with_ci(t: &[u8], i: usize, p: &[u8]) -> bool {
    t.get(i..i + p.len())
        .is_some_and(|w| w.eq_ignore_ascii_case(p))
}

/// A byte of a word-started credential shape (the longest shape alphabet).
pub fn is_body(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'=' | b'+' | b'/' | b'~')
}

/// A credential starting at `i` (the start of a word): `(end, label)`.
/// `long` says whether the run of [`is_body`] bytes from `i` is 24+ bytes
/// (every prefixed shape is); the caller knows it from one scan per run.
pub fn at_word(t: &[u8], i: usize, long: bool) -> Option<(usize, &'static str)> {
    let first = *t.get(i)?;
    if long && may_start(first) {
        for fmt in FORMATS.iter().filter(|f| f.prefix.first() == Some(&first)) {
            if t.get(i..i + fmt.prefix.len()) != Some(fmt.prefix) {
                continue;
            }
            let s = i + fmt.prefix.len();
            let end = run(t, s, fmt.set);
            let n = end - s;
            if (fmt.min..=fmt.max).contains(&n)
                && !t.get(end).is_some_and(u8::is_ascii_alphanumeric)
            {
                return Some((end, fmt.label));
            }
        }
        if let Some(end) = openai_legacy(t, i)
            .or_else(|| sendgrid(t, i))
            .or_else(|| postman(t, i))
        {
            return Some((end, shaped_label(first)));
        }
        if let Some(found) = deepseek(t, i).or_else(|| discord_bot(t, i)) {
            return Some(found);
        }
        if let Some(end) = webhook(t, i) {
            return Some((
                end,
                if first == b'h' {
                    "credential:slack"
                } else {
                    "credential:discord"
                },
            ));
        }
    }
    if first == b'a' {
        return braintree(t, i);
    }
    infixed(t, i)
}

/// Shapes that can begin with any letter or digit, told apart by a fixed
/// infix at a fixed offset: Terraform Cloud (`<14>.atlasv1.<60-70>`),
/// Azure AD client secrets (`<3><digit>Q~<31-34>`) and Mailchimp
/// (`<32 hex>-us<1-2 digits>`).
fn infixed(t: &[u8], i: usize) -> Option<(usize, &'static str)> {
    let all = |r: std::ops::Range<usize>, f: fn(u8) -> bool| {
        t.get(r).is_some_and(|w| w.iter().all(|b| f(*b)))
    };
    if t.get(i + 14..i + 23) == Some(b".atlasv1.") && all(i..i + 14, lower_digit) {
        let end = run(t, i + 23, |b| b64url(b) || b == b'=');
        return ((60..=70).contains(&(end - i - 23))
            && !t.get(end).is_some_and(u8::is_ascii_alphanumeric))
        .then_some((end, "credential:terraform"));
    }
    let azure = |b: u8| b64url(b) || b == b'~' || b == b'.';
    if t.get(i + 4..i + 6) == Some(b"Q~")
        && t.get(i + 3).is_some_and(u8::is_ascii_digit)
        && all(i..i + 3, |b| b64url(b) || b == b'~' || b == b'.')
    {
        let end = run(t, i + 6, azure);
        return ((31..=34).contains(&(end - i - 6))).then_some((end, "credential:azure_ad"));
    }
    if t.get(i + 32..i + 35) == Some(b"-us") && all(i..i + 32, hex_lower) {
        let end = run(t, i + 35, |b| b.is_ascii_digit());
        return ((1..=2).contains(&(end - i - 35))
            && !t.get(end).is_some_and(u8::is_ascii_alphanumeric))
        .then_some((end, "credential:mailchimp"));
    }
    None
}

/// Braintree/PayPal access tokens:
/// `access_token$production$<16 lower-digit>$<32 hex>`.
fn braintree(t: &[u8], i: usize) -> Option<(usize, &'static str)> {
    let s = [&b"access_token$production$"[..], b"access_token$sandbox$"]
        .into_iter()
        .find(|p| t.get(i..i + p.len()) == Some(*p))
        .map(|p| i + p.len())?;
    let a = run(t, s, lower_digit);
    if a - s != 16 || t.get(a) != Some(&b'$') {
        return None;
    }
    let b = run(t, a + 1, hex_lower);
    (b - (a + 1) == 32 && !t.get(b).is_some_and(u8::is_ascii_alphanumeric))
        .then_some((b, "credential:braintree"))
}

/// DeepSeek keys: `sk-` and exactly 32 lowercase hex digits.
fn deepseek(t: &[u8], i: usize) -> Option<(usize, &'static str)> {
    if t.get(i..i + 3) != Some(b"sk-") {
        return None;
    }
    let end = run(t, i + 3, hex_lower);
    (end - (i + 3) == 32 && !t.get(end).is_some_and(|b| b64url(*b)))
        .then_some((end, "credential:deepseek"))
}

/// Discord bot tokens: `[MNO]` + 23-27 alphanumerics (a base64 user id),
/// `.`, 6 base64url, `.`, 27-38 base64url.
fn discord_bot(t: &[u8], i: usize) -> Option<(usize, &'static str)> {
    if !t.get(i).is_some_and(|b| b"MNO".contains(b)) {
        return None;
    }
    let a = run(t, i + 1, alnum);
    if !(23..=27).contains(&(a - i - 1)) || t.get(a) != Some(&b'.') {
        return None;
    }
    let b = run(t, a + 1, b64url);
    if b - (a + 1) != 6 || t.get(b) != Some(&b'.') {
        return None;
    }
    let end = run(t, b + 1, b64url);
    ((27..=38).contains(&(end - b - 1)) && t.get(end) != Some(&b'.'))
        .then_some((end, "credential:discord"))
}

fn shaped_label(first: u8) -> &'static str {
    match first {
        b's' => "credential:openai",
        b'S' => "credential:sendgrid",
        _ => "credential:postman",
    }
}

/// `sk-` and 32+ base64url bytes mixing upper, lower and digits.
fn openai_legacy(t: &[u8], i: usize) -> Option<usize> {
    if t.get(i..i + 3) != Some(b"sk-") {
        return None;
    }
    let end = run(t, i + 3, b64url);
    let body = t.get(i + 3..end)?;
    let mixed = body.iter().any(u8::is_ascii_uppercase)
        && body.iter().any(u8::is_ascii_lowercase)
        && body.iter().any(u8::is_ascii_digit);
    (body.len() >= 32 && mixed).then_some(end)
}

/// `SG.` + 22 + `.` + 43 base64url bytes.
fn sendgrid(t: &[u8], i: usize) -> Option<usize> {
    if t.get(i..i + 3) != Some(b"SG.") {
        return None;
    }
    let a = run(t, i + 3, b64url);
    if a - (i + 3) != 22 || t.get(a) != Some(&b'.') {
        return None;
    }
    let b = run(t, a + 1, b64url);
    (b - (a + 1) == 43).then_some(b)
}

/// `PMAK-` + 24 hex + `-` + 34 hex.
fn postman(t: &[u8], i: usize) -> Option<usize> {
    if t.get(i..i + 5) != Some(b"PMAK-") {
        return None;
    }
    let a = run(t, i + 5, hex);
    if a - (i + 5) != 24 || t.get(a) != Some(&b'-') {
        return None;
    }
    let b = run(t, a + 1, hex);
    (b - (a + 1) == 34 && !t.get(b).is_some_and(u8::is_ascii_alphanumeric)).then_some(b)
}

/// Slack and Discord webhook URLs: the secret path after the host.
fn webhook(t: &[u8], i: usize) -> Option<usize> {
    let hosts: [&[u8]; 5] = [
        b"hooks.slack.com/services/",
        b"hooks.slack.com/workflows/",
        b"hooks.slack.com/triggers/",
        b"discord.com/api/webhooks/",
        b"discordapp.com/api/webhooks/",
    ];
    let host = hosts.iter().find(|h| starts_with_ci(t, i, h))?;
    let s = i + host.len();
    let end = run(t, s, |b| b64url(b) || b == b'/');
    (end - s >= 20).then_some(end)
}

/// A standalone run of exactly 40 base64 bytes mixing upper, lower and
/// digits from `i`: an AWS secret access key where [`aws_context`] holds.
pub fn aws_secret(t: &[u8], i: usize) -> Option<usize> {
    let set = |b: u8| b.is_ascii_alphanumeric() || b == b'+' || b == b'/';
    if !t.get(i).is_some_and(|b| set(*b)) || prev(t, i).is_some_and(set) {
        return None;
    }
    let end = run(t, i, set);
    let w = t.get(i..end).filter(|w| w.len() == 40)?;
    let mixed = w.iter().any(u8::is_ascii_uppercase)
        && w.iter().any(u8::is_ascii_lowercase)
        && w.iter().any(u8::is_ascii_digit);
    (mixed && t.get(end).is_none_or(|b| *b != b'=')).then_some(end)
}

/// Whether a value gives a 40-byte base64 run the AWS-secret meaning: it
/// names the secret or carries an access key id.
pub fn aws_context(t: &[u8]) -> bool {
    // One pass, comparing only at `s`, `S` and `A`.
    t.iter().enumerate().any(|(i, &b)| match b {
        b's' | b'S' => t
            .get(i..i + 6)
            .is_some_and(|w| w.eq_ignore_ascii_case(b"secret")),
        b'A' => t
            .get(i..i + 4)
            .is_some_and(|w| w == b"AKIA" || w == b"ASIA"),
        _ => false,
    })
}

/// Keyed shapes found at a byte that is not a word start: the value after
/// `sig=`, `AccountKey=` or `SharedAccessKey=`, a PEM private key block,
/// URL userinfo after `://`. Returns `(start, end, label)`.
pub fn at_punct(t: &[u8], i: usize) -> Option<(usize, usize, &'static str)> {
    match t.get(i)? {
        b'=' => keyed_value(t, i),
        b'-' => pem(t, i),
        b':' => userinfo(t, i).or_else(|| telegram(t, i)),
        _ => None,
    }
}

/// Names whose `=` value is a password; a query parameter of one of these
/// names is also `REDACTED` in the span ([`crate::redact::url`]), since a
/// split query no longer shows the `name=` to the detectors.
pub const PASSWORD_NAMES: [&str; 3] = ["password", "passwd", "pwd"];

/// Names whose `=` value is a secret: `(name, label, shortest value)`.
/// Passwords stop at the next `;`, `&`, `,`, quote or blank (connection
/// strings, query strings, cookies); the others are base64-ish.
const KEYED: [(&str, &str, usize); 6] = [
    ("sig", "credential:azure_sas", 20),
    ("AccountKey", "credential:azure_key", 40),
    ("SharedAccessKey", "credential:azure_key", 40),
    (PASSWORD_NAMES[0], "credential:password", 3),
    (PASSWORD_NAMES[1], "credential:password", 3),
    (PASSWORD_NAMES[2], "credential:password", 3),
];

fn keyed_value(t: &[u8], eq: usize) -> Option<(usize, usize, &'static str)> {
    let (_, label, min) = KEYED.into_iter().find(|(n, _, _)| {
        eq.checked_sub(n.len())
            .is_some_and(|s| starts_with_ci(t, s, n.as_bytes()) && !prev(t, s).is_some_and(is_word))
    })?;
    let s = eq + 1;
    let end = if label == "credential:password" {
        run(t, s, |b| {
            b.is_ascii_graphic() && !matches!(b, b';' | b'&' | b',' | b'"' | b'\'')
        })
    } else {
        run(t, s, |b| b64(b) || b == b'%')
    };
    (end - s >= min).then_some((s, end, label))
}

/// Telegram bot tokens: an 8-10 digit bot id, `:`, `AA` and 33 base64url
/// bytes.
fn telegram(t: &[u8], colon: usize) -> Option<(usize, usize, &'static str)> {
    let mut s = colon;
    while s > 0 && prev(t, s).is_some_and(|b| b.is_ascii_digit()) {
        s -= 1;
    }
    if !(8..=10).contains(&(colon - s)) || prev(t, s).is_some_and(alnum) {
        return None;
    }
    if t.get(colon + 1..colon + 3) != Some(b"AA") {
        return None;
    }
    let end = run(t, colon + 3, b64url);
    (end - colon - 3 == 33).then_some((s, end, "credential:telegram"))
}

/// `-----BEGIN ... PRIVATE KEY-----` through its `-----END ...-----` line,
/// or to the end of the value when the block was cut.
fn pem(t: &[u8], i: usize) -> Option<(usize, usize, &'static str)> {
    if t.get(i..i + 11) != Some(b"-----BEGIN ") {
        return None;
    }
    let header_end = i + 11 + t.get(i + 11..)?.windows(5).position(|w| w == b"-----")?;
    let header = t.get(i + 11..header_end)?;
    let private = header.ends_with(b"PRIVATE KEY") || header.ends_with(b"PRIVATE KEY BLOCK");
    if header.len() > 40 || !private {
        return None;
    }
    let body = header_end + 5;
    let end = t
        .get(body..)
        .and_then(|rest| rest.windows(9).position(|w| w == b"-----END "))
        .and_then(|p| {
            let after = body + p + 9;
            t.get(after..)?
                .windows(5)
                .position(|w| w == b"-----")
                .map(|q| after + q + 5)
        })
        .unwrap_or(t.len());
    Some((i, end, "credential:private_key"))
}

/// `scheme://user:password@`: the `user:password` part; or a user part
/// that is itself a key (20+ letters and digits, as in a Sentry DSN
/// `https://<key>@o1.ingest.sentry.io/2`).
fn userinfo(t: &[u8], colon: usize) -> Option<(usize, usize, &'static str)> {
    if t.get(colon + 1..colon + 3) != Some(b"//") || !prev(t, colon).is_some_and(alnum) {
        return None;
    }
    let s = colon + 3;
    let end = run(t, s, |b| {
        b.is_ascii_graphic() && !matches!(b, b'/' | b'?' | b'#' | b'@' | b'[' | b']')
    });
    let info = t.get(s..end)?;
    let has_pass = info
        .iter()
        .position(|b| *b == b':')
        .is_some_and(|p| p + 1 < info.len());
    let key_user = info.len() >= 20
        && info.iter().all(u8::is_ascii_alphanumeric)
        && info.iter().any(u8::is_ascii_digit)
        && info.iter().any(u8::is_ascii_alphabetic);
    (t.get(end) == Some(&b'@') && (has_pass || key_user)).then_some((
        s,
        end,
        "credential:url_userinfo",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn every_format_passes_the_first_byte_gate() {
        for fmt in FORMATS {
            assert!(fmt.prefix.first().is_some_and(|b| may_start(*b)));
        }
        for first in [b's', b'S', b'P', b'h', b'd'] {
            assert!(may_start(first));
        }
    }
}
