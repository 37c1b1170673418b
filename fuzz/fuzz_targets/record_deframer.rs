//! Split arbitrary datagrams into records and open each in epoch 0, as a fresh session does.
//! Must terminate, never panic, and return ranges inside the record.
#![no_main]

use dtls_engine::internals::record::protection::RecordLayer;
use dtls_engine::internals::wire::record::Deframer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut layer = RecordLayer::new();
    let mut deframer = Deframer::new(data);
    let mut consumed = 0usize;
    for (header, body) in deframer.by_ref() {
        assert_eq!(usize::from(header.length), body.len());
        consumed += 13 + body.len();
        assert!(consumed <= data.len());
        let mut buf = body.to_vec();
        if layer.open(&header, &mut buf, 0).is_ok() {
            assert!(buf.len() <= body.len());
            // Opened once: the replay window now refuses the same sequence number.
            assert!(layer.open(&header, &mut body.to_vec(), 0).is_err());
        }
    }
    let _ = deframer.truncated();
});
