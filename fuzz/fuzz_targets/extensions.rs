//! The hello extension block: whatever parses must round-trip through `put_extensions`.
#![no_main]

use dtls_engine::internals::codec::Reader;
use dtls_engine::internals::wire::{put_extensions, read_extensions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut r = Reader::new(data);
    if let Ok(exts) = read_extensions(&mut r) {
        let mut encoded = Vec::new();
        put_extensions(&mut encoded, &exts);
        let again = read_extensions(&mut Reader::new(&encoded)).expect("our own encoding parses");
        assert_eq!(again, exts);
    }
});
