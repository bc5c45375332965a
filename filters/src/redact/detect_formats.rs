//! The table of prefixed credential formats: each vendor token's fixed
//! prefix, its label, the alphabet of its body and the body's length. The
//! prefixes and lengths are the vendors' published formats (gitleaks' and
//! trufflehog's rule lists name the same families); the matchers that use
//! the table live in [`crate::redact::detect_credentials`].

use crate::redact::detect_scan::is_word;

/// One vendor token: `prefix` then a body of `min..=max` bytes of `set`,
/// not followed by another alphanumeric byte.
pub struct Format {
    pub prefix: &'static [u8],
    pub label: &'static str,
    pub set: fn(u8) -> bool,
    pub min: usize,
    pub max: usize,
}

pub fn alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}
pub fn b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}
pub fn b64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'='
}
pub fn hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}
pub fn hex_lower(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
}
pub fn lower_digit(b: u8) -> bool {
    b.is_ascii_digit() || b.is_ascii_lowercase()
}
pub fn upper_digit(b: u8) -> bool {
    b.is_ascii_digit() || b.is_ascii_uppercase()
}
pub fn dotted(b: u8) -> bool {
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
pub const FORMATS: &[Format] = &[
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
