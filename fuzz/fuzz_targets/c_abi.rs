#![no_main]
// libFuzzer entry of polykafka_fuzz::c_abi (the body is shared with the smoke test).
libfuzzer_sys::fuzz_target!(|data: &[u8]| polykafka_fuzz::c_abi(data));
