//! The detectors on arbitrary text: no panic; hits are in bounds, on char
//! boundaries, ordered and disjoint; `find_both` is `find` plus
//! `find_for_span`; a clean verdict means no hit; and a
//! secret planted in the text (set off by `; `) never survives a scan,
//! whatever surrounds it and whichever action applies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tracesafe_filters::redact::detectors::Detectors;
use tracesafe_filters::redact::token::Keyring;
use tracesafe_filters::{Metrics, Redactor, ScanOutcome};
use tracesafe_fuzz::{detectors, keyring, needle, salt, secret, Kind};

fn fixture() -> &'static ([Detectors; 3], Keyring) {
    static F: OnceLock<([Detectors; 3], Keyring)> = OnceLock::new();
    F.get_or_init(|| {
        (
            [
                detectors("mask").expect("fixture"),
                detectors("remove").expect("fixture"),
                detectors("tokenize").expect("fixture"),
            ],
            keyring("k1").expect("fixture"),
        )
    })
}

fuzz_target!(|data: &[u8]| {
    let [kind, action, split, rest @ ..] = data else {
        return;
    };
    let (dets, keys) = fixture();
    let d = &dets[usize::from(*action) % 3];
    let text = String::from_utf8_lossy(rest);

    let hits = d.find(&text);
    // One pass for a value that is forwarded and span-bound equals two.
    assert_eq!(d.find_both(&text), (hits.clone(), d.find_for_span(&text)));
    let mut end = 0;
    for h in &hits {
        assert!(
            end <= h.start && h.start < h.end && h.end <= text.len(),
            "{hits:?}"
        );
        assert!(text.is_char_boundary(h.start) && text.is_char_boundary(h.end));
        end = h.end;
    }
    let mut r = Redactor::new(d, Some(keys.minter(None)), Metrics::default());
    match r.scan(&text) {
        ScanOutcome::Clean => assert!(hits.is_empty()),
        ScanOutcome::Remove | ScanOutcome::Replace(_) => assert!(!hits.is_empty()),
    }

    let at = usize::from(*split) % (rest.len() + 1);
    let (kind, salt) = (Kind::pick(*kind), salt(data));
    let (planted, needle) = (secret(kind, salt), needle(kind, salt));
    let text = format!(
        "{}; {planted} ;{}",
        String::from_utf8_lossy(&rest[..at]),
        String::from_utf8_lossy(&rest[at..])
    );
    let mut r = Redactor::new(d, Some(keys.minter(None)), Metrics::default());
    match r.scan(&text) {
        ScanOutcome::Clean => panic!("{planted:?} not found in {text:?}"),
        ScanOutcome::Remove => {}
        ScanOutcome::Replace(out) => {
            assert!(
                !out.contains(&needle),
                "{needle:?} of {planted:?} survived: {out:?}"
            )
        }
    }
});
