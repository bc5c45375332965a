//! `x-forwarded-client-cert` as Envoy writes it: comma-separated elements of
//! `;`-separated `Key=value` pairs, values optionally double-quoted (then
//! `,`, `;` and `=` are literal and `\"` escapes a quote).

/// One XFCC element (one proxy hop's view of its client certificate).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct XfccElement {
    /// The local (receiving) proxy's certificate URI SAN.
    pub by: Vec<String>,
    /// SHA-256 of the client certificate, hex.
    pub hash: Option<String>,
    /// The client certificate's URI SAN.
    pub uri: Vec<String>,
    pub subject: Option<String>,
    pub dns: Vec<String>,
}

/// Why an XFCC value was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XfccError {
    NotUtf8,
    Unterminated,
    MissingEquals,
    Empty,
}

/// Parses a whole header value (all elements, in order). Unknown keys
/// (`Cert`, `Chain`, future ones) are skipped.
pub fn parse(value: &[u8]) -> Result<Vec<XfccElement>, XfccError> {
    let text = std::str::from_utf8(value).map_err(|_| XfccError::NotUtf8)?;
    let mut elements = Vec::new();
    let mut current = XfccElement::default();
    let mut chars = text.chars().peekable();
    loop {
        while matches!(chars.peek(), Some(' ' | '\t')) {
            chars.next();
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ';' || c == ',' {
                break;
            }
            key.push(c);
            chars.next();
        }
        if chars.next() != Some('=') {
            return Err(if key.trim().is_empty() && elements.is_empty() {
                XfccError::Empty
            } else {
                XfccError::MissingEquals
            });
        }
        let mut val = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    None => return Err(XfccError::Unterminated),
                    Some('\\') => match chars.next() {
                        Some(c) => val.push(c),
                        None => return Err(XfccError::Unterminated),
                    },
                    Some('"') => break,
                    Some(c) => val.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ';' || c == ',' {
                    break;
                }
                val.push(c);
                chars.next();
            }
        }
        assign(&mut current, key.trim(), val.trim().to_string());
        while matches!(chars.peek(), Some(' ' | '\t')) {
            chars.next();
        }
        match chars.next() {
            Some(';') => {}
            Some(',') => elements.push(std::mem::take(&mut current)),
            None => {
                elements.push(current);
                return Ok(elements);
            }
            Some(_) => return Err(XfccError::MissingEquals),
        }
    }
}

fn assign(el: &mut XfccElement, key: &str, val: String) {
    if key.eq_ignore_ascii_case("by") {
        el.by.push(val);
    } else if key.eq_ignore_ascii_case("hash") {
        el.hash = Some(val);
    } else if key.eq_ignore_ascii_case("uri") {
        el.uri.push(val);
    } else if key.eq_ignore_ascii_case("subject") {
        el.subject = Some(val);
    } else if key.eq_ignore_ascii_case("dns") {
        el.dns.push(val);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn envoy_examples() {
        // From Envoy's x-forwarded-client-cert documentation.
        let v = br#"By=http://frontend.lyft.com;Hash=468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688;Subject="/C=US/ST=CA/L=San Francisco/OU=Lyft/CN=Test Client";URI=http://testclient.lyft.com"#;
        let els = parse(v).unwrap();
        assert_eq!(els.len(), 1);
        assert_eq!(els[0].by, vec!["http://frontend.lyft.com"]);
        assert_eq!(
            els[0].hash.as_deref(),
            Some("468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688")
        );
        assert_eq!(
            els[0].subject.as_deref(),
            Some("/C=US/ST=CA/L=San Francisco/OU=Lyft/CN=Test Client")
        );
        assert_eq!(els[0].uri, vec!["http://testclient.lyft.com"]);

        let two = br#"By=http://frontend.lyft.com;Hash=468e;URI=http://testclient.lyft.com,By=http://backend.lyft.com;Hash=9ba6;URI=http://frontend.lyft.com"#;
        let els = parse(two).unwrap();
        assert_eq!(els.len(), 2);
        assert_eq!(els[1].by, vec!["http://backend.lyft.com"]);
        assert_eq!(els[1].uri, vec!["http://frontend.lyft.com"]);

        let dns = br#"By=spiffe://td/ns/a/sa/b;Hash=ab;Subject="";URI=spiffe://td/ns/c/sa/d;DNS=x.local;DNS=y.local"#;
        let els = parse(dns).unwrap();
        assert_eq!(els[0].dns, vec!["x.local", "y.local"]);
        assert_eq!(els[0].subject.as_deref(), Some(""));
    }

    #[test]
    fn quoted_values_keep_separators_and_escapes() {
        let els = parse(br#"Subject="CN=a,O=b;c \"q\"";URI=spiffe://td/x"#).unwrap();
        assert_eq!(els[0].subject.as_deref(), Some(r#"CN=a,O=b;c "q""#));
        assert_eq!(els[0].uri, vec!["spiffe://td/x"]);
    }

    #[test]
    fn malformed_values() {
        assert_eq!(parse(b""), Err(XfccError::Empty));
        assert_eq!(parse(b"By"), Err(XfccError::MissingEquals));
        assert_eq!(parse(br#"Subject="open"#), Err(XfccError::Unterminated));
        assert_eq!(
            parse(&[b'U', b'R', b'I', b'=', 0xff]),
            Err(XfccError::NotUtf8)
        );
        assert_eq!(parse(br#"URI="a"x"#), Err(XfccError::MissingEquals));
    }
}
