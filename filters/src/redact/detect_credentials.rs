//! Credential formats with a distinctive shape: vendor token prefixes with
//! their body alphabet and length, and a few keyed shapes (`sig=`,
//! `AccountKey=`, PEM private keys, URL userinfo, AWS secret keys). Each
//! hit is a `credential` with a sub-label (`[REDACTED:credential:github]`).
//! The prefixes and lengths are the vendors' published formats; secret
//! scanners (gitleaks, trufflehog) list the same families.

use crate::redact::detect_scan::{is_word, prev, run};

/// One vendor token: `prefix` then a body of `min..=max` bytes of `set`,
/// not followed by another alphanumeric byte.
struct Format {
    prefix: &'static [u8],
    label: &'static str,
    set: fn(u8) -> bool,
    min: usize,
    max: usize,
}

fn alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}
fn b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}
fn b64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'='
}
fn hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}
fn hex_lower(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
}
fn lower_digit(b: u8) -> bool {
    b.is_ascii_digit() || b.is_ascii_lowercase()
}
fn upper_digit(b: u8) -> bool {
    b.is_ascii_digit() || b.is_ascii_uppercase()
}
fn dotted(b: u8) -> bool {
    b64url(b) || b == b'.'
}

const fn f(
    prefix: &'static [u8],
    label: &'static str,
    set: fn(u8) -> bool,
    min: usize,
    max: usize,
) -> Format {
    Format {
        prefix,
        label,
        set,
        min,
        max,
    }
}

/// Longer prefixes of one family first (`sk-ant-` before `sk-`).
const FORMATS: &[Format] = &[
    f(b"ghp_", "credential:github", alnum, 36, 255),
    f(b"gho_", "credential:github", alnum, 36, 255),
    f(b"ghu_", "credential:github", alnum, 36, 255),
    f(b"ghs_", "credential:github", alnum, 36, 255),
    f(b"ghr_", "credential:github", alnum, 36, 255),
    f(b"github_pat_", "credential:github", is_word, 40, 255),
    f(b"glpat-", "credential:gitlab", dotted, 20, 255),
    f(b"gldt-", "credential:gitlab", dotted, 20, 255),
    f(b"glrt-", "credential:gitlab", dotted, 20, 255),
    f(b"gloas-", "credential:gitlab", dotted, 20, 255),
    f(b"glcbt-", "credential:gitlab", dotted, 20, 255),
    f(b"glptt-", "credential:gitlab", dotted, 20, 255),
    f(b"glft-", "credential:gitlab", dotted, 20, 255),
    f(b"glimt-", "credential:gitlab", dotted, 20, 255),
    f(b"glagent-", "credential:gitlab", dotted, 20, 255),
    f(b"glsoat-", "credential:gitlab", dotted, 20, 255),
    f(b"glffct-", "credential:gitlab", dotted, 20, 255),
    f(b"glc_", "credential:grafana", b64, 32, 400),
    f(b"glsa_", "credential:grafana", is_word, 32, 64),
    f(b"xoxb-", "credential:slack", b64url, 20, 255),
    f(b"xoxp-", "credential:slack", b64url, 20, 255),
    f(b"xoxa-", "credential:slack", b64url, 20, 255),
    f(b"xoxr-", "credential:slack", b64url, 20, 255),
    f(b"xoxs-", "credential:slack", b64url, 20, 255),
    f(b"xoxe-", "credential:slack", b64url, 20, 255),
    f(b"xoxe.xoxp-", "credential:slack", b64url, 20, 255),
    f(b"xapp-", "credential:slack", b64url, 20, 255),
    f(b"sk_live_", "credential:stripe", alnum, 16, 255),
    f(b"sk_test_", "credential:stripe", alnum, 16, 255),
    f(b"rk_live_", "credential:stripe", alnum, 16, 255),
    f(b"rk_test_", "credential:stripe", alnum, 16, 255),
    f(b"whsec_", "credential:stripe", alnum, 24, 255),
    f(b"AIza", "credential:google", b64url, 35, 35),
    f(b"ya29.", "credential:google", b64url, 20, 2048),
    f(b"GOCSPX-", "credential:google", b64url, 24, 64),
    f(b"sk-ant-", "credential:anthropic", b64url, 32, 255),
    f(b"sk-proj-", "credential:openai", b64url, 32, 255),
    f(b"sk-svcacct-", "credential:openai", b64url, 32, 255),
    f(b"sk-admin-", "credential:openai", b64url, 32, 255),
    f(b"npm_", "credential:npm", alnum, 36, 36),
    f(b"SK", "credential:twilio", hex_lower, 32, 32),
    f(b"AC", "credential:twilio", hex_lower, 32, 32),
    f(b"shpat_", "credential:shopify", hex, 32, 32),
    f(b"shpss_", "credential:shopify", hex, 32, 32),
    f(b"shpca_", "credential:shopify", hex, 32, 32),
    f(b"shppa_", "credential:shopify", hex, 32, 32),
    f(
        b"ATATT",
        "credential:atlassian",
        |b| b64url(b) || b == b'=',
        50,
        400,
    ),
    f(b"hf_", "credential:huggingface", alnum, 30, 40),
    f(b"key-", "credential:mailgun", lower_digit, 32, 32),
    f(b"dop_v1_", "credential:digitalocean", hex_lower, 64, 64),
    f(b"doo_v1_", "credential:digitalocean", hex_lower, 64, 64),
    f(b"dor_v1_", "credential:digitalocean", hex_lower, 64, 64),
    f(b"HRKU-", "credential:heroku", b64url, 30, 255),
    f(b"sq0atp-", "credential:square", b64url, 22, 255),
    f(b"sq0csp-", "credential:square", b64url, 40, 255),
    f(b"EAAA", "credential:square", b64url, 60, 255),
    f(b"pypi-AgEIcHlwaS5vcmc", "credential:pypi", b64url, 50, 1024),
    f(b"dckr_pat_", "credential:docker", b64url, 27, 255),
    f(b"dapi", "credential:databricks", hex_lower, 32, 32),
    f(b"hvs.", "credential:vault", b64url, 24, 255),
    f(b"hvb.", "credential:vault", b64url, 24, 255),
    f(b"hvr.", "credential:vault", b64url, 24, 255),
    f(b"dp.pt.", "credential:doppler", alnum, 40, 64),
    f(b"dp.st.", "credential:doppler", alnum, 40, 64),
    f(b"dp.sa.", "credential:doppler", alnum, 40, 64),
    f(b"dp.ct.", "credential:doppler", alnum, 40, 64),
    f(b"dp.scim.", "credential:doppler", alnum, 40, 64),
    f(b"dp.audit.", "credential:doppler", alnum, 40, 64),
    f(b"lin_api_", "credential:linear", alnum, 40, 40),
    f(b"NRAK-", "credential:newrelic", upper_digit, 27, 27),
    f(b"AGE-SECRET-KEY-1", "credential:age", upper_digit, 58, 58),
    f(
        b"sntrys_",
        "credential:sentry",
        |b| b64(b) || b == b'_',
        50,
        400,
    ),
    f(b"sbp_", "credential:supabase", hex_lower, 40, 40),
    f(b"pul-", "credential:pulumi", hex_lower, 40, 40),
    f(b"ntn_", "credential:notion", alnum, 40, 64),
    f(b"fo1_", "credential:flyio", b64url, 40, 64),
    f(b"rubygems_", "credential:rubygems", hex_lower, 48, 48),
    f(b"pscale_tkn_", "credential:planetscale", b64url, 32, 64),
];

/// Whether a byte starts any credential shape (a cheap gate per word).
pub fn may_start(b: u8) -> bool {
    matches!(
        b,
        b'g' | b'x'
            | b's'
            | b'r'
            | b'w'
            | b'A'
            | b'y'
            | b'G'
            | b'n'
            | b'S'
            | b'h'
            | b'k'
            | b'd'
            | b'H'
            | b'E'
            | b'p'
            | b'l'
            | b'N'
            | b'f'
            | b'P'
    )
}

fn starts_with_ci(t: &[u8], i: usize, p: &[u8]) -> bool {
    t.get(i..i + p.len())
        .is_some_and(|w| w.eq_ignore_ascii_case(p))
}

/// A credential starting at `i` (the start of a word): `(end, label)`.
pub fn at_word(t: &[u8], i: usize) -> Option<(usize, &'static str)> {
    let first = *t.get(i)?;
    // Every shape is 24+ bytes long: most words stop here.
    let long = run(t, i, |b| {
        b.is_ascii_alphanumeric() || b"_-.=+/".contains(&b)
    }) - i
        >= 24;
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
    None
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
    let hosts: [&[u8]; 3] = [
        b"hooks.slack.com/services/",
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
    let w = t.get(i..end)?;
    let mixed = w.iter().any(u8::is_ascii_uppercase)
        && w.iter().any(u8::is_ascii_lowercase)
        && w.iter().any(u8::is_ascii_digit);
    (w.len() == 40 && mixed && t.get(end).is_none_or(|b| *b != b'=')).then_some(end)
}

/// Whether a value gives a 40-byte base64 run the AWS-secret meaning: it
/// names the secret or carries an access key id.
pub fn aws_context(t: &[u8]) -> bool {
    t.windows(6).any(|w| w.eq_ignore_ascii_case(b"secret"))
        || t.windows(4).any(|w| w == b"AKIA" || w == b"ASIA")
}

/// Keyed shapes found at a byte that is not a word start: the value after
/// `sig=`, `AccountKey=` or `SharedAccessKey=`, a PEM private key block,
/// URL userinfo after `://`. Returns `(start, end, label)`.
pub fn at_punct(t: &[u8], i: usize) -> Option<(usize, usize, &'static str)> {
    match t.get(i)? {
        b'=' => keyed_value(t, i),
        b'-' => pem(t, i),
        b':' => userinfo(t, i),
        _ => None,
    }
}

fn keyed_value(t: &[u8], eq: usize) -> Option<(usize, usize, &'static str)> {
    let names: [(&[u8], &str, usize); 3] = [
        (b"sig", "credential:azure_sas", 20),
        (b"AccountKey", "credential:azure_key", 40),
        (b"SharedAccessKey", "credential:azure_key", 40),
    ];
    let (_, label, min) = names.into_iter().find(|(n, _, _)| {
        eq.checked_sub(n.len())
            .is_some_and(|s| starts_with_ci(t, s, n) && !prev(t, s).is_some_and(is_word))
    })?;
    let s = eq + 1;
    let end = run(t, s, |b| b64(b) || b == b'%');
    (end - s >= min).then_some((s, end, label))
}

/// `-----BEGIN ... PRIVATE KEY-----` through its `-----END ...-----` line,
/// or to the end of the value when the block was cut.
fn pem(t: &[u8], i: usize) -> Option<(usize, usize, &'static str)> {
    if t.get(i..i + 11) != Some(b"-----BEGIN ") {
        return None;
    }
    let header_end = i + 11 + t.get(i + 11..)?.windows(5).position(|w| w == b"-----")?;
    let header = t.get(i + 11..header_end)?;
    if header.len() > 40 || !header.ends_with(b"PRIVATE KEY") {
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

/// `scheme://user:password@`: the `user:password` part.
fn userinfo(t: &[u8], colon: usize) -> Option<(usize, usize, &'static str)> {
    if t.get(colon + 1..colon + 3) != Some(b"//") || !prev(t, colon).is_some_and(alnum) {
        return None;
    }
    let s = colon + 3;
    let end = run(t, s, |b| b.is_ascii_graphic() && !b"/?#@[]".contains(&b));
    let info = t.get(s..end)?;
    let pass = info.iter().position(|b| *b == b':').map(|p| p + 1)?;
    (t.get(end) == Some(&b'@') && pass < info.len()).then_some((s, end, "credential:url_userinfo"))
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
