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
    f(b"pscale_pw_", "credential:planetscale", b64url, 32, 64),
    f(b"pscale_oauth_", "credential:planetscale", b64url, 32, 64),
    f(b"sntryu_", "credential:sentry", hex_lower, 64, 64),
    f(b"NRJS-", "credential:newrelic", hex_lower, 19, 19),
    f(b"NRII-", "credential:newrelic", b64url, 32, 32),
    f(
        b"ATCTT",
        "credential:atlassian",
        |b| b64url(b) || b == b'=',
        50,
        400,
    ),
    f(b"ATBB", "credential:atlassian", alnum, 28, 64),
    f(b"gsk_", "credential:groq", alnum, 52, 52),
    f(b"pplx-", "credential:perplexity", alnum, 48, 48),
    f(b"xai-", "credential:xai", alnum, 80, 80),
    f(b"r8_", "credential:replicate", alnum, 37, 37),
    f(b"tskey-", "credential:tailscale", b64url, 20, 255),
    f(b"ops_eyJ", "credential:onepassword", dotted, 200, 2048),
    f(b"AKCp", "credential:jfrog", alnum, 69, 69),
    f(b"dt0c01.", "credential:dynatrace", dotted, 89, 89),
    f(b"CFPAT-", "credential:contentful", b64url, 43, 43),
    f(b"pnu_", "credential:prefect", alnum, 36, 36),
    f(b"rdme_", "credential:readme", lower_digit, 70, 70),
    f(b"xkeysib-", "credential:brevo", b64url, 81, 81),
    f(b"shippo_live_", "credential:shippo", hex_lower, 40, 40),
    f(b"shippo_test_", "credential:shippo", hex_lower, 40, 40),
    f(b"duffel_live_", "credential:duffel", b64url, 43, 43),
    f(b"duffel_test_", "credential:duffel", b64url, 43, 43),
    f(b"EZAK", "credential:easypost", alnum, 54, 54),
    f(b"EZTK", "credential:easypost", alnum, 54, 54),
    f(b"FLWSECK_TEST-", "credential:flutterwave", b64url, 34, 34),
    f(b"FLWSECK-", "credential:flutterwave", b64url, 34, 34),
    f(b"sk.eyJ", "credential:mapbox", dotted, 80, 512),
    f(
        b"tfp_",
        "credential:typeform",
        |b| dotted(b) || b == b'=',
        59,
        59,
    ),
    f(b"ico-", "credential:infracost", alnum, 32, 32),
    f(b"pat.", "credential:harness", dotted, 68, 68),
    f(b"sat.", "credential:harness", dotted, 68, 68),
    f(b"pat", "credential:airtable", dotted, 79, 79),
    f(b"p8e-", "credential:adobe", alnum, 32, 32),
    f(b"cmVmd", "credential:jfrog", alnum, 59, 59),
    f(b"v1.0-", "credential:cloudflare", b64url, 171, 171),
    f(
        b"A3-",
        "credential:onepassword",
        |b| upper_digit(b) || b == b'-',
        36,
        37,
    ),
    f(b"eyJrIjoi", "credential:grafana", b64, 70, 400),
    f(b"GR1348941", "credential:gitlab", b64url, 20, 255),
    f(b"fm1a_", "credential:flyio", b64, 100, 2048),
    f(b"fm1r_", "credential:flyio", b64, 100, 2048),
    f(b"fm2_", "credential:flyio", b64, 100, 2048),
    f(
        b"fio-u-",
        "credential:frameio",
        |b| b64url(b) || b == b'=',
        64,
        64,
    ),
    f(b"s-s4t2ud-", "credential:intra42", hex_lower, 64, 64),
    f(b"s-s4t2af-", "credential:intra42", hex_lower, 64, 64),
    f(b"API-", "credential:octopus", upper_digit, 26, 26),
    f(b"sha256~", "credential:openshift", b64url, 43, 43),
    f(b"tk-us-", "credential:scalingo", b64url, 48, 48),
    f(b"AQVN", "credential:yandex", b64url, 35, 38),
    f(b"EAAM", "credential:facebook", alnum, 100, 1024),
    f(b"EAAC", "credential:facebook", alnum, 100, 1024),
    f(b"sk_prod_", "credential:stripe", alnum, 10, 255),
    f(b"rk_prod_", "credential:stripe", alnum, 10, 255),
    f(b"xoxo-", "credential:slack", b64url, 20, 255),
    f(b"access-production-", "credential:plaid", b64url, 36, 36),
    f(b"access-development-", "credential:plaid", b64url, 36, 36),
    f(b"access-sandbox-", "credential:plaid", b64url, 36, 36),
    f(b"sl.", "credential:dropbox", dotted, 130, 2048),
    f(b"dnkey-", "credential:defined_networking", b64url, 79, 79),
    f(b"ZXlKaGJHY2lPaU", "credential:jwt_base64", b64, 40, 4096),
    f(b"ddp_", "credential:deno", alnum, 36, 36),
    f(b"bkua_", "credential:buildkite", hex_lower, 40, 40),
    f(b"lsv2_pt_", "credential:langsmith", is_word, 43, 43),
    f(b"lsv2_sk_", "credential:langsmith", is_word, 43, 43),
    f(b"CCIPAT_", "credential:circleci", is_word, 60, 70),
    f(b"LTAI", "credential:alibaba", alnum, 20, 20),
    f(b"CLOJARS_", "credential:clojars", lower_digit, 60, 60),
    f(b"oy2", "credential:nuget", lower_digit, 43, 43),
    f(b"cio", "credential:crates_io", alnum, 32, 32),
    f(b"sgp_", "credential:sourcegraph", is_word, 40, 80),
    f(b"rnd_", "credential:render", alnum, 32, 32),
    f(b"pcsk_", "credential:pinecone", is_word, 60, 120),
    f(b"nfp_", "credential:netlify", alnum, 36, 36),
    f(b"sb_secret_", "credential:supabase", b64url, 20, 64),
    f(
        b"IQoJb3JpZ2luX2Vj",
        "credential:aws_session",
        b64,
        100,
        4096,
    ),
    f(b"FwoGZXIvYXdz", "credential:aws_session", b64, 100, 4096),
];

/// Whether a byte starts any prefixed credential shape (a cheap gate per
/// word).
pub fn may_start(b: u8) -> bool {
    b"abcdefghiklnoprstvwxyACEFGHILMNOPSZ".contains(&b)
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
        b.is_ascii_alphanumeric() || b"_-.=+/~".contains(&b)
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
        b':' => userinfo(t, i).or_else(|| telegram(t, i)),
        _ => None,
    }
}

/// Names whose `=` value is a secret: `(name, label, shortest value)`.
/// Passwords stop at the next `;`, `&`, `,`, quote or blank (connection
/// strings, query strings, cookies); the others are base64-ish.
const KEYED: [(&[u8], &str, usize); 6] = [
    (b"sig", "credential:azure_sas", 20),
    (b"AccountKey", "credential:azure_key", 40),
    (b"SharedAccessKey", "credential:azure_key", 40),
    (b"password", "credential:password", 3),
    (b"passwd", "credential:password", 3),
    (b"pwd", "credential:password", 3),
];

fn keyed_value(t: &[u8], eq: usize) -> Option<(usize, usize, &'static str)> {
    let (_, label, min) = KEYED.into_iter().find(|(n, _, _)| {
        eq.checked_sub(n.len())
            .is_some_and(|s| starts_with_ci(t, s, n) && !prev(t, s).is_some_and(is_word))
    })?;
    let s = eq + 1;
    let end = if label == "credential:password" {
        run(t, s, |b| b.is_ascii_graphic() && !b";&,\"'".contains(&b))
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
    let end = run(t, s, |b| b.is_ascii_graphic() && !b"/?#@[]".contains(&b));
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
