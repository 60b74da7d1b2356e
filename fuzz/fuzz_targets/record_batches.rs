#![no_main]
// libFuzzer entry of polykafka_fuzz::record_batches (the body is shared with the smoke test).
libfuzzer_sys::fuzz_target!(|data: &[u8]| polykafka_fuzz::record_batches(data));
